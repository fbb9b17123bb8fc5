#include "api/admin_api.h"

#include <spdlog/spdlog.h>
#include <boost/json.hpp>

#include "api/admin_access.h"
#include "api/load_api.h"
#include "api/reply.h"
#include "core/json_text.h"
#include "core/mask.h"
#include "providers/registry.h"

namespace bc::api {

namespace http = boost::beast::http;
namespace json = boost::json;

namespace {

json::array strings(const std::vector<std::string>& v) {
  json::array a;
  for (const auto& s : v) a.emplace_back(s);
  return a;
}

json::value masked(const std::string& secret) {
  if (secret.empty()) return nullptr;
  return json::value(mask_secret(secret));
}

json::object model_json(const config::ModelConfig& m) {
  json::object o;
  o["provider"] = m.provider;
  o["model"] = m.model;
  o["base_url"] = m.base_url;
  json::array keys;
  for (const auto& k : m.api_keys) {
    json::object key;
    key["id"] = k.name.empty() ? mask_secret(k.key) : k.name;
    key["key"] = masked(k.key);
    key["weight"] = k.weight;
    keys.push_back(std::move(key));
  }
  o["api_keys"] = std::move(keys);
  o["model_weight"] = m.model_weight;
  o["strategy"] = m.strategy;
  o["max_concurrency"] = m.max_concurrency;
  o["max_qps"] = m.max_qps;
  o["rpm"] = m.rpm;
  o["tpm"] = m.tpm;
  o["decay_factor"] = m.decay_factor;
  o["auto_weight"] = m.auto_weight;
  o["cooldown_ms"] = m.cooldown_ms;
  o["queue_timeout_ms"] = m.queue_timeout_ms;
  if (m.default_temperature) {
    o["default_temperature"] = *m.default_temperature;
  } else {
    o["default_temperature"] = nullptr;
  }
  o["max_retries"] = m.max_retries;
  o["supports_tools"] = m.supports_tools;
  o["connect_timeout_ms"] = m.connect_timeout_ms;
  o["first_byte_timeout_ms"] = m.first_byte_timeout_ms;
  o["idle_timeout_ms"] = m.idle_timeout_ms;
  if (const auto* p = providers::find_provider(m.provider);
      p != nullptr && p->options != nullptr && p->options->describe != nullptr) {
    p->options->describe(m.own_options, o);
  }
  return o;
}

}  // namespace

std::string masked_config_json(const config::Config& c) {
  json::object o;
  o["source"] = c.source;
  o["server"] = {{"host", c.server.host},
                 {"port", c.server.port},
                 {"threads", c.server.threads},
                 {"max_body_bytes", c.server.max_body_bytes},
                 {"max_header_bytes", c.server.max_header_bytes},
                 {"max_connections", c.server.max_connections},
                 {"max_body_bytes_in_flight", c.server.max_body_bytes_in_flight},
                 {"read_timeout_ms", c.server.read_timeout_ms},
                 {"write_timeout_ms", c.server.write_timeout_ms},
                 {"idle_timeout_ms", c.server.idle_timeout_ms},
                 {"shutdown_grace_ms", c.server.shutdown_grace_ms}};
  o["upstream"] = {{"connect_timeout_ms", c.upstream.connect_timeout_ms},
                   {"first_byte_timeout_ms", c.upstream.first_byte_timeout_ms},
                   {"idle_timeout_ms", c.upstream.idle_timeout_ms},
                   {"pool_max_idle_per_origin", c.upstream.pool_max_idle_per_origin},
                   {"pool_idle_ttl_ms", c.upstream.pool_idle_ttl_ms},
                   {"max_response_bytes", c.upstream.max_response_bytes}};
  o["queue"] = {{"timeout_ms", c.queue.timeout_ms}, {"max_waiting", c.queue.max_waiting}};
  o["admin"] = {{"expose_keys", c.admin.expose_keys},
                {"dashboard", c.admin.dashboard},
                {"token", masked(c.admin.token)},
                {"metrics_token", masked(c.admin.metrics_token)}};
  json::array clients;
  for (const auto& k : c.auth.client_keys) {
    json::object client;
    client["name"] = k.name;
    client["key"] = masked(k.key);
    client["models"] = strings(k.models);
    client["rpm"] = k.rpm;
    clients.push_back(std::move(client));
  }
  o["auth"] = {{"client_keys", std::move(clients)}};
  o["log"] = {{"access", c.log.access}};
  if (!c.usage.path.empty()) {
    o["usage"] = {{"path", c.usage.path},
                  {"retention_days", c.usage.retention_days},
                  {"flush_ms", c.usage.flush_ms},
                  {"queue_size", c.usage.queue_size}};
  }
  o["enabled_models"] = strings(c.enabled_models);
  json::object models;
  for (const auto& m : c.models) models[m.name] = model_json(m);
  o["models"] = std::move(models);
  return json_text(o);  // plain decimals (default_temperature: 0.7, not 7E-1)
}

std::optional<Error> metrics_refused(const config::Config& config,
                                     const net::HttpRequest& request) {
  const auto& admin = config.admin;
  if (admin.metrics_token.empty()) return std::nullopt;
  // Both comparisons run whatever the first gives: the time does not tell which matched.
  const bool metrics = bearer_matches(request, admin.metrics_token);
  const bool operator_token = !admin.token.empty() && bearer_matches(request, admin.token);
  if (metrics || operator_token) return std::nullopt;
  Error e;
  e.kind = ErrorKind::kAuthentication;
  e.code = "invalid_metrics_token";
  e.message = "/metrics requires the metrics token: Authorization: Bearer <admin.metrics_token>";
  return e;
}

namespace {

// RFC 6750's challenge on a 401 (built outside the coroutine: GCC 12 and braced lists).
Headers bearer_challenge() {
  Headers h;
  h.push_back(Header{"WWW-Authenticate", "Bearer"});
  return h;
}

}  // namespace

void add_metrics_route(Router& router, gateway::Gateway& gateway, telemetry::Metrics& metrics,
                       const usage::Ledger* ledger, const gateway::SharedState* state) {
  auto* gw = &gateway;
  auto* m = &metrics;
  router.add(
      http::verb::get, "/metrics",
      [gw, m, ledger, state](const net::HttpRequest& r, net::ResponseWriter& w) -> awaitable<void> {
        if (auto refused = metrics_refused(gw->config(), r)) {
          co_await send_error(w, *refused, bearer_challenge());
          co_return;
        }
        m->refresh_pool(gw->pool(), gw->queue().waiting(), Clock::now());
        m->refresh_state(state != nullptr && state->degraded());
        if (ledger != nullptr) {
          m->refresh_ledger({.written = ledger->written(),
                             .dropped = ledger->dropped(),
                             .failed = ledger->failed(),
                             .queued = ledger->queued(),
                             .marks_failed = ledger->marks_failed()});
        }
        co_await w.send(200, telemetry::kExpositionContentType, m->serialize());
      });
}

namespace {

// {"reloaded":true,"message":...}; built outside the coroutine (GCC 12 and braced lists).
std::string reloaded_json(const std::string& message) {
  json::object o;
  o["reloaded"] = true;
  o["message"] = message;
  return json_text(o);
}

}  // namespace

void add_admin_routes(Router& router, const gateway::Gateway& gateway,
                      const AdminSessions& sessions, std::function<Result<std::string>()> reload) {
  auto* gw = &gateway;
  const auto* store = &sessions;
  router.add(http::verb::get, "/admin/config",
             [gw](const net::HttpRequest&, net::ResponseWriter& w) -> awaitable<void> {
               co_await send_json(w, 200, masked_config_json(gw->config()));
             });
  router.add(
      http::verb::post, "/admin/reload",
      [gw, store, reload](const net::HttpRequest& r, net::ResponseWriter& w) -> awaitable<void> {
        const std::string who = admin_who(gw->config(), *store, r, w.remote_address());
        // Runs here, on this worker: reading the file and building the pool take a few
        // milliseconds, and reloads are rare.
        auto result = reload();
        if (!result) {
          spdlog::error("reload by {}: {}", who, result.error().message);
          co_await send_error(w, result.error());
          co_return;
        }
        spdlog::info("reload by {}: {}", who, result.value());
        co_await send_json(w, 200, reloaded_json(result.value()));
      });
}

}  // namespace bc::api
