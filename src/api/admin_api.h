// The operator's endpoints: GET /metrics (Prometheus text format, open like /health) and the
// admin endpoints under /admin/, which routes.cpp guards with the admin token:
//   GET /admin/config   the active config as JSON, every secret masked
#pragma once

#include <optional>
#include <string>

#include "api/router.h"
#include "config/config.h"
#include "gateway/gateway.h"
#include "telemetry/metrics.h"

namespace bc::api {

void add_metrics_route(Router& router, gateway::Gateway& gateway, telemetry::Metrics& metrics);
void add_admin_routes(Router& router, const gateway::Gateway& gateway);

// The config as JSON with every secret (provider keys, client keys, the admin token) masked.
std::string masked_config_json(const config::Config& config);

// Why a request to /admin/* is refused, if it is: no admin token configured (403), or the
// request does not carry it (401).
std::optional<Error> admin_refused(const config::Config& config, const net::HttpRequest& request);

}  // namespace bc::api
