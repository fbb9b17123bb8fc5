// `balancedcall check --connect`: tries the configured Redis once (connect, AUTH, SELECT,
// PING within state.timeout_ms) from the calling thread, before any worker runs.
#pragma once

#include <string>

#include "config/state_config.h"
#include "core/result.h"

namespace bc::state {

// What was reached ("Redis at 127.0.0.1:6379: connected, PING answered in 0.3 ms"), or an
// Error whose message names the server and says what failed in Redis's own words.
Result<std::string> check_redis_connection(const config::StateConfig& state);

}  // namespace bc::state
