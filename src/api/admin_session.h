// The dashboard's sign-in: sessions opened with the admin token (POST /admin/login) and
// carried by an HttpOnly; SameSite=Strict cookie, so the page itself, its files and its data
// can all answer 401 without one, and the token never sits in the page's storage or a URL.
//
// A session is a random id (256 bits from OpenSSL's RAND_bytes), kept here only as its
// SHA-256 digest with the digest of the admin token that granted it and an expiry: a session
// dies when it expires, when it is closed (POST /admin/logout), when the admin token changes
// on reload (it no longer matches), and with the process. Shared by every worker thread.
#pragma once

#include <array>
#include <chrono>
#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

#include "core/clock.h"
#include "net/http_server.h"

namespace bc::api {

// The cookie's name, and the header a cookie-authenticated change must carry (CSRF: a page of
// another origin cannot set it on a request without a CORS preflight, which the gateway never
// grants; SameSite=Strict is the first guard, this the second).
inline constexpr std::string_view kSessionCookie = "bc_admin_session";
inline constexpr std::string_view kAdminHeader = "X-BalancedCall-Admin";

class AdminSessions {
 public:
  // How long a session lasts from its sign-in, and how many live at once (a sign-in beyond it
  // ends the one closest to its expiry).
  static constexpr std::chrono::hours kLifetime{12};
  static constexpr std::size_t kMaxSessions = 256;

  struct Opened {
    std::string id;        // the cookie's value; known to the browser only
    std::uint64_t serial;  // a number for the log: "admin session #3", never the id
  };

  // Opens a session granted by `token` (the admin token in force).
  Opened open(std::string_view token, TimePoint now);
  // The serial of the live session `id`, if it was granted by `token` (the admin token in
  // force now) and has not expired.
  std::optional<std::uint64_t> find(std::string_view id, std::string_view token,
                                    TimePoint now) const;
  // Ends the session `id`; its serial if it was live.
  std::optional<std::uint64_t> close(std::string_view id);
  std::size_t size() const;

 private:
  using Digest = std::array<unsigned char, 32>;
  struct Session {
    Digest token;
    std::uint64_t serial;
    TimePoint expires;
  };
  static std::string key_of(std::string_view id);
  static Digest digest(std::string_view text);
  void drop_expired(TimePoint now);

  mutable std::mutex mutex_;
  // By the SHA-256 of the id: the map's own comparisons then leak nothing usable about an id.
  std::unordered_map<std::string, Session> sessions_;
  std::uint64_t next_serial_ = 1;
};

// The value of cookie `name` in a Cookie header ("a=1; b=2"); nullopt when absent.
std::optional<std::string_view> cookie_value(std::string_view header, std::string_view name);

// The Set-Cookie value of a session: HttpOnly, SameSite=Strict, Path=/, and Secure when the
// gateway serves HTTPS. An empty id with max_age 0 clears it (sign-out).
std::string session_cookie(std::string_view id, std::chrono::seconds max_age, bool secure);

// Whether a request authenticated by the cookie may change something: GET and HEAD may; any
// other method must carry `X-BalancedCall-Admin: 1`, and an Origin, when sent, must name the
// Host it was sent to.
bool csrf_safe(const net::HttpRequest& request);

}  // namespace bc::api
