// The operator's endpoints: GET /metrics (Prometheus text format; open like /health unless
// admin.metrics_token is set, never behind a client key) and the admin endpoints under
// /admin/, which routes.cpp guards with the admin token or a dashboard session
// (admin_access.h):
//   GET /admin/config   the active config as JSON, every secret masked
//   POST /admin/reload  re-reads the config file; 200 with what changed, or 400 with why the
//                       new config was refused (the old one keeps serving)
#pragma once

#include <functional>
#include <optional>
#include <string>

#include "api/admin_session.h"
#include "api/router.h"
#include "config/config.h"
#include "gateway/gateway.h"
#include "gateway/shared_state.h"
#include "telemetry/metrics.h"
#include "usage/ledger.h"

namespace bc::api {

// `ledger`: the usage ledger whose counts /metrics shows; nullptr: none. `state`: the shared
// state whose degraded flag it shows (bc_state_degraded); nullptr: local state (always 0).
void add_metrics_route(Router& router, gateway::Gateway& gateway, telemetry::Metrics& metrics,
                       const usage::Ledger* ledger = nullptr,
                       const gateway::SharedState* state = nullptr);
// `reload`: what POST /admin/reload runs (see Service::reload); logged with who asked
// (`sessions`: the dashboard's, admin_access.h).
void add_admin_routes(Router& router, const gateway::Gateway& gateway,
                      const AdminSessions& sessions, std::function<Result<std::string>()> reload);

// The config as JSON with every secret (provider keys, client keys, the admin token) masked.
std::string masked_config_json(const config::Config& config);

// Why a request to /metrics is refused, if it is: admin.metrics_token is set and the request
// carries neither it nor the admin token (401). The /metrics route checks it itself.
std::optional<Error> metrics_refused(const config::Config& config, const net::HttpRequest& request);

}  // namespace bc::api
