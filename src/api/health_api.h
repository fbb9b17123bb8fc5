// GET /health and GET /llm/health: {"status":"ok","timestamp":"<ISO 8601 UTC>"}, or "degraded"
// (still 200: the instance serves) while it cannot use the Redis of state.backend redis and
// admits on its share of each limit. Always open (no auth), for load balancers and
// orchestrators.
#pragma once

#include "api/router.h"

namespace bc::gateway {
class SharedState;
}

namespace bc::api {

// `state`: the instance's shared state (state.backend redis); nullptr: local state.
void add_health_routes(Router& router, const gateway::SharedState* state = nullptr);

}  // namespace bc::api
