// config/demo.yaml, embedded in the binary at build time (see embed_text.cmake), so that
// `balancedcall serve` with no --config answers on a fresh machine with no API key.
#pragma once

#include <string_view>

#include "config/config.h"

namespace bc::config {

// The name messages give the embedded file.
inline constexpr std::string_view kDemoConfigName = "<embedded config/demo.yaml>";

// The text of config/demo.yaml as it was when the binary was built.
std::string_view demo_config_yaml();

// demo_config_yaml() loaded with load_config_text (${ENV} substitution applies).
Config load_demo_config();

}  // namespace bc::config
