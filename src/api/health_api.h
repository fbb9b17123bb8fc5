// GET /health and GET /llm/health: {"status":"ok","timestamp":"<ISO 8601 UTC>"}. Always open
// (no auth), for load balancers and orchestrators.
#pragma once

#include "api/router.h"

namespace bc::api {

void add_health_routes(Router& router);

}  // namespace bc::api
