// The live dashboard (docs/dashboard.md). When admin.dashboard is true (else 404):
//   GET /dashboard, /dashboard/app.js, /dashboard/app.css   the page, embedded at build time,
//       for the bearer admin token or a signed-in session (admin_access.h). Anyone else gets
//       the login form for /dashboard (401) and a 401 for its files; the login form's style,
//       /dashboard/login.css, is the one public file.
//   GET /admin/dashboard[?since=<unix s>]   the figures the page polls once a second (the admin
//       token or a session, as every /admin/* endpoint): models, keys, the 15-minute series
//       (only the seconds after `since`), the latest errors.
// And the operator's actions on one key, whenever the admin token is set (dashboard or not),
// each written to the log with who (the admin token or session #n, the client's address) and
// what:
//   POST /admin/keys/lift     {"model": "<name>", "key": "<public id>"}  ends a quarantine
//   POST /admin/keys/drain    {"model", "key"}  no new request; those in flight finish
//   POST /admin/keys/undrain  {"model", "key"}  takes traffic again
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "api/admin_session.h"
#include "api/router.h"
#include "core/clock.h"
#include "gateway/gateway.h"
#include "gateway/shared_admission.h"
#include "telemetry/live_stats.h"

namespace bc::api {

void add_dashboard_routes(Router& router, const gateway::Gateway& gateway,
                          const telemetry::LiveStats& stats, const AdminSessions& sessions);
// With `shared` (state: redis, this worker's), a lift also takes the key's quarantine mark out
// of Redis, so that no instance quarantines it again from that mark.
void add_key_action_routes(Router& router, gateway::Gateway& gateway, const AdminSessions& sessions,
                           gateway::SharedAdmission* shared = nullptr);

// The login form, 401; `refused`: with the note that the token was refused.
awaitable<void> send_login_page(net::ResponseWriter& writer, bool refused);

// Counts a finished chat call for the dashboard (telemetry/live_stats.h): atomics of its model
// (`models`, by pool index), and for a failure one entry of the latest errors.
void count_for_dashboard(telemetry::LiveStats& stats,
                         const std::vector<telemetry::TrafficCounters*>& models,
                         const balance::Pool& pool, const Exchange& exchange, int status,
                         Duration total);

// The body of GET /admin/dashboard: the series from the second after `since` (0: all of it).
std::string dashboard_json(const gateway::Gateway& gateway, const telemetry::LiveStats& stats,
                           std::int64_t since, TimePoint now);

}  // namespace bc::api
