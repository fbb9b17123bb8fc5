// Reads the `usage:` section (the usage ledger's store) into UsageConfig; its own file so the
// loader only names it.
#pragma once

#include "config/config.h"
#include "config/yaml_reader.h"

namespace bc::config {

// Reports problems through `reader` (file, line, field) and leaves defaults where absent.
void read_usage_section(detail::Reader& reader, const detail::Entry& entry, UsageConfig& out);

}  // namespace bc::config
