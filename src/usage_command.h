// `balancedcall usage`: the usage ledger's sums as a table, read from the store the config
// names. Opens the store read-only: SQLite's WAL lets it read while the gateway writes.
#pragma once

#include <string>

#include "config/config.h"

namespace bc {

// Prints one row per group (client, model, key, hour or day) since `since` (a span such as
// "7d" or a time such as 2025-01-31), and their total. 0 on success, 1 when the ledger is off
// or unreadable, or an argument is not understood.
int run_usage(const config::Config& config, const std::string& since, const std::string& by,
              bool json);

}  // namespace bc
