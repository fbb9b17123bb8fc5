// What a reload changed, for its answer and its log line (Service::reload): how many keys kept
// their live state, and which settings only a restart applies. Pure.
#pragma once

#include <cstddef>
#include <string>
#include <vector>

#include "balance/pool.h"
#include "config/config.h"

namespace bc::api {

// Which keys of `next` share their live state with a key of `previous`.
std::size_t kept_keys(const balance::Pool& previous, const balance::Pool& next);

// The settings a running server cannot change: the listener and its limits, the logs, where
// the shared counters live.
std::vector<std::string> restart_only_changes(const config::Config& a, const config::Config& b);

}  // namespace bc::api
