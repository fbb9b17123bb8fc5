// What was built: the project's version (CMakeLists.txt) and the git revision it was built
// from. Shown by `balancedcall --version`, in the startup log line and as bc_build_info.
#pragma once

#include <string>
#include <string_view>

namespace bc::telemetry {

std::string_view version();   // "0.1.0"
std::string_view revision();  // "1a2b3c4d5e6f", "1a2b3c4d5e6f-dirty" or "unknown"
// "balancedcall 0.1.0 (1a2b3c4d5e6f)"
std::string version_line();

}  // namespace bc::telemetry
