// Who may enter /admin/*, and the dashboard's sign-in and sign-out (admin_access.h).
#include "api/admin_access.h"

#include <charconv>

#include <spdlog/spdlog.h>
#include <boost/json.hpp>

#include "api/dashboard_api.h"
#include "api/load_api.h"
#include "api/reply.h"
#include "core/json_text.h"

namespace bc::api {

namespace http = boost::beast::http;
namespace json = boost::json;

namespace {

std::optional<std::string_view> session_cookie_of(const net::HttpRequest& request) {
  return cookie_value(request[http::field::cookie], kSessionCookie);
}

// One field of an application/x-www-form-urlencoded body ('+' is a space, %XX a byte).
std::optional<std::string> form_value(std::string_view body, std::string_view name) {
  while (!body.empty()) {
    const auto amp = body.find('&');
    const auto pair = body.substr(0, amp);
    body = amp == std::string_view::npos ? std::string_view{} : body.substr(amp + 1);
    const auto eq = pair.find('=');
    if (eq == std::string_view::npos || pair.substr(0, eq) != name) continue;
    std::string plus_as_space(pair.substr(eq + 1));
    for (auto& c : plus_as_space) {
      if (c == '+') c = ' ';
    }
    // query_param's decoding, through a one-field query.
    net::HttpRequest probe;
    probe.target("/?v=" + plus_as_space);
    return query_param(probe, "v");
  }
  return std::nullopt;
}

// The token a sign-in carries, and whether it came from the login form (else JSON).
struct SignIn {
  std::optional<std::string> token;
  bool form = false;
};

SignIn sign_in_of(const net::HttpRequest& request) {
  SignIn in;
  const auto type = request[http::field::content_type];
  if (type.starts_with("application/x-www-form-urlencoded")) {
    in.form = true;
    in.token = form_value(request.body(), "token");
    return in;
  }
  boost::system::error_code ec;
  const json::value body = json::parse(request.body(), ec);
  const json::object* o = ec ? nullptr : body.if_object();
  const json::value* token = o != nullptr ? o->if_contains("token") : nullptr;
  if (token != nullptr && token->is_string()) in.token = std::string(token->as_string());
  return in;
}

Error permission(std::string code, std::string message) {
  Error e;
  e.kind = ErrorKind::kPermission;
  e.code = std::move(code);
  e.message = std::move(message);
  return e;
}

Error wrong_token() {
  Error e;
  e.kind = ErrorKind::kAuthentication;
  e.code = "invalid_admin_token";
  e.message = "the admin token was refused";
  return e;
}

// A cross-site page may post the login form too (a "login CSRF"); an Origin, when the browser
// sends one, must be this gateway's.
bool same_origin_or_none(const net::HttpRequest& request) {
  const auto origin = request[http::field::origin];
  if (origin.empty()) return true;
  const auto scheme_end = origin.find("://");
  return scheme_end != std::string_view::npos &&
         origin.substr(scheme_end + 3) == request[http::field::host];
}

Headers cookie_headers(std::string cookie, bool redirect) {
  Headers h;
  h.push_back(Header{"Set-Cookie", std::move(cookie)});
  h.push_back(Header{"Cache-Control", "no-store"});
  if (redirect) h.push_back(Header{"Location", "/dashboard"});
  return h;
}

std::string signed_in_json(std::uint64_t serial) {
  json::object o;
  o["signed_in"] = true;
  o["session"] = serial;
  o["expires_in_s"] = std::chrono::seconds(AdminSessions::kLifetime).count();
  return json_text(o);
}

awaitable<void> login(const gateway::Gateway& gw, AdminSessions& sessions,
                      const net::HttpRequest& r, net::ResponseWriter& w) {
  const auto& config = gw.config();
  const std::string from = w.remote_address();
  // Named locals, never temporaries, in the co_await calls (GCC 12).
  if (!config.admin.dashboard) {
    Error off = Error::not_found("the dashboard is off: set admin.dashboard: true in the config",
                                 "dashboard_off");
    co_await send_error(w, std::move(off));
    co_return;
  }
  if (!same_origin_or_none(r)) {
    spdlog::warn("admin sign-in refused from {}: posted from another origin ({})", from,
                 std::string_view(r[http::field::origin]));
    Error cross = permission("cross_origin", "sign in from the dashboard's own page");
    co_await send_error(w, std::move(cross));
    co_return;
  }
  const SignIn in = sign_in_of(r);
  if (!in.token || !secret_equals(*in.token, config.admin.token)) {
    spdlog::warn("admin sign-in refused from {}: {}", from,
                 in.token ? "wrong token" : "no token in the request");
    if (in.form) {
      co_await send_login_page(w, true);
    } else {
      Error wrong = wrong_token();
      co_await send_error(w, std::move(wrong));
    }
    co_return;
  }
  const auto opened = sessions.open(config.admin.token, Clock::now());
  spdlog::info("admin sign-in: session #{} opened from {} for {} h", opened.serial, from,
               AdminSessions::kLifetime.count());
  const auto max_age = std::chrono::duration_cast<std::chrono::seconds>(AdminSessions::kLifetime);
  const Headers headers =
      cookie_headers(session_cookie(opened.id, max_age, config.server.tls.enabled()), in.form);
  if (in.form) {
    std::string none;
    co_await w.send(303, "text/plain; charset=utf-8", std::move(none), headers);
  } else {
    std::string body = signed_in_json(opened.serial);
    co_await send_json(w, 200, std::move(body), headers);
  }
}

// A sign-in is the one /admin/* request that anyone may send with a body: its head is checked
// before the body is read (net::HeadCheck), so a visitor cannot make the gateway hold more
// than a token's worth of body, nor any while the dashboard is off.
constexpr std::uint64_t kMaxLoginBody = 4096;

std::optional<Error> login_head_refused(const config::Config& config,
                                        const net::HttpRequest& head) {
  if (!config.admin.dashboard) {
    return Error::not_found("the dashboard is off: set admin.dashboard: true in the config",
                            "dashboard_off");
  }
  // From the header: the body is not read yet.
  const auto field = head[http::field::content_length];
  std::uint64_t length = 0;
  const bool known =
      !field.empty() &&
      std::from_chars(field.data(), field.data() + field.size(), length).ec == std::errc{};
  if (head.chunked() || (known && length > kMaxLoginBody)) {
    Error e;
    e.kind = ErrorKind::kPayloadTooLarge;
    e.code = "login_too_large";
    e.message = "a sign-in carries the admin token only: at most " + std::to_string(kMaxLoginBody) +
                " bytes, with a Content-Length";
    return e;
  }
  return std::nullopt;
}

}  // namespace

std::optional<std::uint64_t> admin_session_of(const config::Config& config,
                                              const AdminSessions& sessions,
                                              const net::HttpRequest& request, TimePoint now) {
  if (config.admin.token.empty() || !config.admin.dashboard) return std::nullopt;
  const auto id = session_cookie_of(request);
  if (!id) return std::nullopt;
  return sessions.find(*id, config.admin.token, now);
}

std::optional<Error> admin_refused(const config::Config& config, const AdminSessions& sessions,
                                   const net::HttpRequest& request, TimePoint now) {
  if (config.admin.token.empty()) {
    return permission("admin_disabled",
                      "the admin endpoints are off: set admin.token in the config to enable them");
  }
  if (request_path(request) == "/admin/login") return login_head_refused(config, request);
  if (bearer_matches(request, config.admin.token)) return std::nullopt;
  if (admin_session_of(config, sessions, request, now)) {
    if (csrf_safe(request)) return std::nullopt;
    return permission("csrf_check_failed",
                      "a change made with the dashboard's session cookie must carry the header " +
                          std::string(kAdminHeader) + ": 1 and come from the dashboard's origin");
  }
  Error e = wrong_token();
  e.message =
      "this endpoint requires the admin token (Authorization: Bearer <admin token>) or a "
      "dashboard session (POST /admin/login)";
  return e;
}

std::string admin_who(const config::Config& config, const AdminSessions& sessions,
                      const net::HttpRequest& request, const std::string& remote) {
  const std::string from = " from " + (remote.empty() ? std::string("?") : remote);
  if (!config.admin.token.empty() && bearer_matches(request, config.admin.token)) {
    return "the admin token" + from;
  }
  if (auto serial = admin_session_of(config, sessions, request, Clock::now())) {
    return "admin session #" + std::to_string(*serial) + from;
  }
  return "an unknown caller" + from;  // not reached: the request passed admin_refused
}

void add_login_routes(Router& router, const gateway::Gateway& gateway, AdminSessions& sessions) {
  const auto* gw = &gateway;
  auto* store = &sessions;
  router.add(http::verb::post, "/admin/login",
             [gw, store](const net::HttpRequest& r, net::ResponseWriter& w) -> awaitable<void> {
               co_await login(*gw, *store, r, w);
             });
  router.add(
      http::verb::post, "/admin/logout",
      [gw, store](const net::HttpRequest& r, net::ResponseWriter& w) -> awaitable<void> {
        // Reached with the token or a live session (admin_refused); ends the cookie's session.
        const auto id = session_cookie_of(r);
        const auto closed = id ? store->close(*id) : std::nullopt;
        if (closed) {
          spdlog::info("admin sign-out: session #{} closed from {}", *closed, w.remote_address());
        }
        const Headers headers = cookie_headers(
            session_cookie("", std::chrono::seconds(0), gw->config().server.tls.enabled()), false);
        std::string body = closed ? R"({"signed_out":true})" : R"({"signed_out":false})";
        co_await send_json(w, 200, std::move(body), headers);
      });
}

}  // namespace bc::api
