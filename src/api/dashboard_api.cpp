#include "api/dashboard_api.h"

#include <charconv>
#include <cmath>

#include <spdlog/spdlog.h>
#include <boost/json.hpp>

#include "api/admin_access.h"
#include "api/dashboard_assets.h"
#include "api/load_api.h"
#include "api/reply.h"
#include "balance/capacity.h"
#include "balance/key_load.h"
#include "core/json_text.h"
#include "gateway/shared_admission.h"
#include "telemetry/app_log.h"

namespace bc::api {

namespace http = boost::beast::http;
namespace json = boost::json;

namespace {

// Rounded to a tenth, whole numbers as integers: what the page shows, and smaller to send.
json::value tenth(double v) {
  if (!std::isfinite(v)) return nullptr;
  const double r = std::round(v * 10) / 10;
  if (r == std::floor(r) && std::fabs(r) < 9e15) return static_cast<std::int64_t>(r);
  return r;
}

json::value tenth(const std::optional<double>& v) {
  return v ? tenth(*v) : json::value(nullptr);
}

std::int64_t unix_ms_now() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

json::object key_json(const balance::KeyReport& r, const balance::KeyLoad& load, TimePoint now) {
  json::object k;
  k["id"] = r.id;  // the public id: configured name or masked key, never the key
  k["state"] = r.state;
  if (r.remaining) {
    k["remaining_ms"] = std::chrono::ceil<std::chrono::milliseconds>(*r.remaining).count();
  }
  k["in_flight"] = load.in_flight();
  k["max_concurrency"] = load.concurrency_limit();  // 0: unlimited
  k["starts_last_s"] = load.qps_used(now);
  k["max_qps"] = tenth(load.limits().max_qps);  // 0: unlimited
  k["weight"] = tenth(r.weight);
  k["effective_weight"] = tenth(r.effective_weight);
  k["latency_ms"] = tenth(r.latency_ms);
  if (r.rpd > 0 || r.tpd > 0) {
    json::object quota;
    quota["rpd"] = r.rpd;
    quota["tpd"] = r.tpd;
    quota["requests_today"] = r.requests_today;
    quota["tokens_today"] = r.tokens_today;
    if (r.quota_day_end_ms > 0) quota["resets_at_ms"] = r.quota_day_end_ms;
    k["quota"] = std::move(quota);
  }
  return k;
}

json::object model_json(const gateway::Gateway& gateway, const telemetry::LiveStats& stats,
                        std::size_t m, std::size_t queued, TimePoint now) {
  const auto& pool = gateway.pool();
  const auto report = balance::model_report(pool, m, now);
  const auto traffic = stats.model_traffic(report.name);
  json::object o;
  o["name"] = report.name;
  o["strategy"] = report.strategy;
  o["capacity"] = report.type;
  o["load_percent"] = report.max > 0 ? tenth(100 * report.current / report.max) : nullptr;
  o["in_flight"] = report.in_flight;
  o["queued"] = queued;  // waiting for a key of this model (named by the request)
  o["requests_per_s"] = tenth(traffic.requests_per_s);
  o["requests_last_min"] = traffic.requests;
  o["error_rate"] = std::round(traffic.error_rate * 1000) / 1000;
  o["p50_ms"] = tenth(traffic.p50_ms);
  o["p95_ms"] = tenth(traffic.p95_ms);
  o["ttft_p50_ms"] = tenth(traffic.ttft_p50_ms);
  o["ttft_p95_ms"] = tenth(traffic.ttft_p95_ms);
  json::array keys;
  for (std::uint32_t k = 0; k < report.keys.size(); ++k) {
    const balance::Target target{static_cast<std::uint32_t>(m), k};
    keys.push_back(key_json(report.keys[k], pool.load(target), now));
  }
  o["keys"] = std::move(keys);
  return o;
}

json::object series_json(const telemetry::LiveStats& stats, std::int64_t since) {
  json::array t, requests, errors, p50, p95;
  for (const auto& s : stats.series()) {
    if (s.unix_s <= since) continue;
    t.push_back(s.unix_s);
    requests.push_back(s.requests);
    errors.push_back(s.errors);
    p50.push_back(tenth(s.p50_ms));
    p95.push_back(tenth(s.p95_ms));
  }
  json::object o;
  o["t"] = std::move(t);
  o["requests"] = std::move(requests);
  o["errors"] = std::move(errors);
  o["p50_ms"] = std::move(p50);
  o["p95_ms"] = std::move(p95);
  return o;
}

json::array errors_json(const telemetry::LiveStats& stats) {
  json::array out;
  for (const auto& e : stats.errors()) {
    json::object o;
    o["unix_ms"] = e.unix_ms;
    o["model"] = e.model;
    o["key"] = e.key;
    o["class"] = e.error_class;
    o["status"] = e.status;
    o["message"] = e.message;
    out.push_back(std::move(o));
  }
  return out;
}

// The dashboard's part of the API answers 404 while it is off, as if it were not there.
std::optional<Error> dashboard_off(const gateway::Gateway& gateway) {
  if (gateway.config().admin.dashboard) return std::nullopt;
  return Error::not_found("the dashboard is off: set admin.dashboard: true in the config",
                          "dashboard_off");
}

// The headers of every file of the page: nothing from another origin, no inline script, no
// framing, no guessing of types, no caching of an old page after an upgrade.
Headers asset_headers() {
  Headers h;
  h.push_back(Header{"Content-Security-Policy",
                     "default-src 'self'; script-src 'self'; style-src 'self'; connect-src "
                     "'self'; img-src 'self' data:; frame-ancestors 'none'; base-uri 'none'; "
                     "form-action 'self'"});
  h.push_back(Header{"X-Content-Type-Options", "nosniff"});
  h.push_back(Header{"X-Frame-Options", "DENY"});
  // No referrer leaves for another origin; within this one the browser then sends a real
  // Origin on the page's posts (with no-referrer it sends "Origin: null"), which the sign-in
  // and the CSRF check compare with the Host.
  h.push_back(Header{"Referrer-Policy", "same-origin"});
  // Behind the sign-in: no shared cache keeps them, and a browser asks again each time.
  h.push_back(Header{"Cache-Control", "no-store"});
  return h;
}

// Who may have the page and its files: the bearer admin token (curl, scripts) or a session.
bool signed_in(const gateway::Gateway& gateway, const AdminSessions& sessions,
               const net::HttpRequest& request) {
  const auto& admin = gateway.config().admin;
  if (admin.token.empty()) return false;  // the loader insists on one with the dashboard on
  if (bearer_matches(request, admin.token)) return true;
  return admin_session_of(gateway.config(), sessions, request, Clock::now()).has_value();
}

Error not_signed_in() {
  Error e;
  e.kind = ErrorKind::kAuthentication;
  e.code = "invalid_admin_token";
  e.message = "sign in at /dashboard first (or send Authorization: Bearer <admin token>)";
  return e;
}

Headers login_headers() {
  Headers h = asset_headers();
  h.push_back(Header{"WWW-Authenticate", "Bearer"});
  return h;
}

// What the files of the page need: the page itself answers a visitor not signed in with the
// login form (401); its script and style answer 401; the login form's own style is public.
enum class Gate { kPage, kSignedIn, kPublic };

void add_asset(Router& router, const gateway::Gateway& gateway, const AdminSessions& sessions,
               std::string path, std::string_view content_type, std::string_view (*text)(),
               Gate gate) {
  const auto* gw = &gateway;
  const auto* store = &sessions;
  router.add(http::verb::get, std::move(path),
             [gw, store, content_type, text, gate](const net::HttpRequest& r,
                                                   net::ResponseWriter& w) -> awaitable<void> {
               if (auto off = dashboard_off(*gw)) {
                 co_await send_error(w, *off);
                 co_return;
               }
               if (gate != Gate::kPublic && !signed_in(*gw, *store, r)) {
                 if (gate == Gate::kPage) {
                   co_await send_login_page(w, false);
                 } else {
                   const Headers challenge = login_headers();
                   Error refused = not_signed_in();
                   co_await send_error(w, std::move(refused), challenge);
                 }
                 co_return;
               }
               const Headers headers = asset_headers();
               std::string body(text());
               co_await w.send(200, content_type, std::move(body), headers);
             });
}

std::int64_t since_of(const net::HttpRequest& request) {
  const auto since = query_param(request, "since");
  std::int64_t v = 0;
  if (!since) return 0;
  const auto* end = since->data() + since->size();
  if (std::from_chars(since->data(), end, v).ptr != end) return 0;
  return v;
}

// ---- actions ----

enum class KeyAction { kLift, kDrain, kUndrain };

std::string_view action_name(KeyAction a) {
  switch (a) {
    case KeyAction::kLift:
      return "lift";
    case KeyAction::kDrain:
      return "drain";
    case KeyAction::kUndrain:
      return "undrain";
  }
  return "?";
}

// Does the action on the key the body names; the answer's body, or why not.
Result<std::string> run_key_action(gateway::Gateway& gateway, gateway::SharedAdmission* shared,
                                   KeyAction action, const net::HttpRequest& request,
                                   const std::string& who) {
  boost::system::error_code ec;
  const json::value body = json::parse(request.body(), ec);
  const json::object* o = ec ? nullptr : body.if_object();
  const json::string* model =
      o != nullptr && o->contains("model") ? o->at("model").if_string() : nullptr;
  const json::string* key = o != nullptr && o->contains("key") ? o->at("key").if_string() : nullptr;
  if (model == nullptr || key == nullptr) {
    return Error::invalid_request(
        R"(expected a JSON body {"model": "<model name>", "key": "<key id>"})", "invalid_body");
  }
  const auto model_name = std::string(std::string_view(*model));
  const auto key_id = std::string(std::string_view(*key));
  auto& pool = gateway.pool();
  const auto target = pool.find_key(model_name, key_id);
  if (!target) {
    return Error::not_found(
        "no key '" + key_id + "' in model '" + model_name + "' (GET /admin/dashboard lists them)",
        "key_not_found");
  }
  const auto& load = pool.load(*target);
  bool changed = false;
  switch (action) {
    case KeyAction::kLift:
      changed = load.disabled();
      pool.set_disabled(*target, false);
      if (shared != nullptr) shared->lift(gateway, *target);
      break;
    case KeyAction::kDrain:
      changed = !load.drained();
      pool.set_drained(*target, true);
      break;
    case KeyAction::kUndrain:
      changed = load.drained();
      pool.set_drained(*target, false);
      break;
  }
  spdlog::info("admin action: {} key '{}' of model '{}' by {}{}", action_name(action), key_id,
               model_name, who, changed ? "" : " (no change: it was already so)");
  json::object out;
  out["action"] = action_name(action);
  out["model"] = model_name;
  out["key"] = key_id;
  out["changed"] = changed;
  out["state"] = balance::key_report(pool, model_name, key_id, Clock::now())->state;
  return json_text(out);
}

void add_key_action(Router& router, gateway::Gateway& gateway, const AdminSessions& sessions,
                    gateway::SharedAdmission* shared, std::string path, KeyAction action) {
  auto* gw = &gateway;
  const auto* store = &sessions;
  router.add(http::verb::post, std::move(path),
             [gw, store, shared, action](const net::HttpRequest& r,
                                         net::ResponseWriter& w) -> awaitable<void> {
               // Only the admin token or a session reaches /admin/* (routes.cpp): which, and
               // from where.
               const std::string who = admin_who(gw->config(), *store, r, w.remote_address());
               auto result = run_key_action(*gw, shared, action, r, who);
               if (!result) {
                 co_await send_error(w, result.error());
                 co_return;
               }
               co_await send_json(w, 200, std::move(result).value());
             });
}

// The message of an error answer in OpenAI's shape ({"error": {"message": ...}}).
std::string error_message(const std::string& body) {
  boost::system::error_code ec;
  const auto v = json::parse(body, ec);
  const auto* error = !ec && v.is_object() ? v.as_object().if_contains("error") : nullptr;
  const auto* message =
      error != nullptr && error->is_object() ? error->as_object().if_contains("message") : nullptr;
  if (message == nullptr || !message->is_string()) return body.substr(0, 300);
  return std::string(message->as_string());
}

}  // namespace

void count_for_dashboard(telemetry::LiveStats& stats,
                         const std::vector<telemetry::TrafficCounters*>& models,
                         const balance::Pool& pool, const Exchange& exchange, int status,
                         Duration total) {
  const auto& report = exchange.report;
  std::optional<std::size_t> model;
  if (report.target) {
    model = report.target->model;
  } else if (!report.model.empty()) {
    model = pool.find_model(report.model);  // named, but no key was reached
  }
  telemetry::TrafficCounters* counters = model && *model < models.size() ? models[*model] : nullptr;
  // Failed by the gateway or an upstream, or no key could take it; not the caller's mistakes.
  const bool failed = status >= 500 || status == 429;
  stats.record(counters, failed, total);
  if (counters != nullptr && exchange.streamed() && status == 200 && exchange.first_byte()) {
    stats.first_token(*counters, *exchange.first_byte() - exchange.started_at());
  }
  if (!failed) return;
  stats.error({.unix_ms = unix_ms_now(),
               .model = report.model,
               .key = report.key_id,
               .error_class = std::string(telemetry::error_class(status)),
               .status = status,
               .message = error_message(exchange.error_body())});
}

std::string dashboard_json(const gateway::Gateway& gateway, const telemetry::LiveStats& stats,
                           std::int64_t since, TimePoint now) {
  json::object o;
  o["now_ms"] = unix_ms_now();
  o["load_percent"] = tenth(balance::load_percent(gateway.pool(), now));
  o["queued"] = gateway.queue().waiting();
  const std::size_t count = gateway.pool().model_count();
  const auto queued = gateway.queue().waiting_by_model(count);
  o["queued_any_model"] = queued[count];  // requests that named no model
  json::array models;
  for (std::size_t m = 0; m < count; ++m) {
    models.push_back(model_json(gateway, stats, m, queued[m], now));
  }
  o["models"] = std::move(models);
  o["series"] = series_json(stats, since);
  o["errors"] = errors_json(stats);
  return json_text(o);
}

awaitable<void> send_login_page(net::ResponseWriter& writer, bool refused) {
  std::string body(dashboard_login_html());
  constexpr std::string_view kMark = "<!--refused-->";
  if (const auto at = body.find(kMark); at != std::string::npos) {
    body.replace(at, kMark.size(),
                 refused ? R"(<p class="error" role="alert">The token was refused.</p>)" : "");
  }
  const Headers headers = login_headers();
  co_await writer.send(401, "text/html; charset=utf-8", std::move(body), headers);
}

void add_dashboard_routes(Router& router, const gateway::Gateway& gateway,
                          const telemetry::LiveStats& stats, const AdminSessions& sessions) {
  constexpr std::string_view kHtml = "text/html; charset=utf-8";
  constexpr std::string_view kJs = "text/javascript; charset=utf-8";
  constexpr std::string_view kCss = "text/css; charset=utf-8";
  add_asset(router, gateway, sessions, "/dashboard", kHtml, dashboard_html, Gate::kPage);
  add_asset(router, gateway, sessions, "/dashboard/", kHtml, dashboard_html, Gate::kPage);
  add_asset(router, gateway, sessions, "/dashboard/app.js", kJs, dashboard_js, Gate::kSignedIn);
  add_asset(router, gateway, sessions, "/dashboard/app.css", kCss, dashboard_css, Gate::kSignedIn);
  add_asset(router, gateway, sessions, "/dashboard/login.css", kCss, dashboard_login_css,
            Gate::kPublic);
  const auto* gw = &gateway;
  const auto* live = &stats;
  router.add(http::verb::get, "/admin/dashboard",
             [gw, live](const net::HttpRequest& r, net::ResponseWriter& w) -> awaitable<void> {
               if (auto off = dashboard_off(*gw)) {
                 co_await send_error(w, *off);
                 co_return;
               }
               std::string body = dashboard_json(*gw, *live, since_of(r), Clock::now());
               co_await send_json(w, 200, std::move(body));
             });
}

void add_key_action_routes(Router& router, gateway::Gateway& gateway, const AdminSessions& sessions,
                           gateway::SharedAdmission* shared) {
  add_key_action(router, gateway, sessions, shared, "/admin/keys/lift", KeyAction::kLift);
  add_key_action(router, gateway, sessions, shared, "/admin/keys/drain", KeyAction::kDrain);
  add_key_action(router, gateway, sessions, shared, "/admin/keys/undrain", KeyAction::kUndrain);
}

}  // namespace bc::api
