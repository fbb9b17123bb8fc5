#include "telemetry/build_info.h"

#include "bc_revision.h"  // generated at build time by cmake/revision.cmake

namespace bc::telemetry {

std::string_view version() {
  return BC_VERSION;
}

std::string_view revision() {
  return BC_REVISION;
}

std::string version_line() {
  return "balancedcall " + std::string(version()) + " (" + std::string(revision()) + ")";
}

}  // namespace bc::telemetry
