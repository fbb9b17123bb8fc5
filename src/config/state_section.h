// Reads the `state:` section of the config (config/state_config.h) for loader.cpp.
#pragma once

#include "config/state_config.h"
#include "config/yaml_reader.h"

namespace bc::config::detail {

// Reports every problem (with its line and field) through `reader`; leaves defaults for
// absent fields.
void read_state_section(Reader& reader, const Entry& entry, StateConfig& out);

}  // namespace bc::config::detail
