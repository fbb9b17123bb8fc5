// Secrets are shown only masked: the first characters that name the kind of key and the last
// four, e.g. "sk-…a1b2". Used for key ids in responses, logs and metrics.
#pragma once

#include <string>
#include <string_view>

namespace bc {

std::string mask_secret(std::string_view secret);

}  // namespace bc
