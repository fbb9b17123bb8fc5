// Admin sessions for the dashboard's sign-in (admin_session.h): the store, the cookie, the
// CSRF rule.
#include "api/admin_session.h"

#include <algorithm>
#include <stdexcept>

#include <openssl/crypto.h>
#include <openssl/rand.h>
#include <openssl/sha.h>

#include "core/trim.h"

namespace bc::api {

namespace {

std::string hex(const unsigned char* data, std::size_t n) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out;
  out.reserve(n * 2);
  for (std::size_t i = 0; i < n; ++i) {
    out.push_back(kDigits[data[i] >> 4]);
    out.push_back(kDigits[data[i] & 0xf]);
  }
  return out;
}

}  // namespace

AdminSessions::Digest AdminSessions::digest(std::string_view text) {
  Digest d{};
  SHA256(reinterpret_cast<const unsigned char*>(text.data()), text.size(), d.data());
  return d;
}

std::string AdminSessions::key_of(std::string_view id) {
  const Digest d = digest(id);
  return std::string(reinterpret_cast<const char*>(d.data()), d.size());
}

void AdminSessions::drop_expired(TimePoint now) {
  std::erase_if(sessions_, [now](const auto& s) { return s.second.expires <= now; });
}

AdminSessions::Opened AdminSessions::open(std::string_view token, TimePoint now) {
  std::array<unsigned char, 32> random{};
  if (RAND_bytes(random.data(), static_cast<int>(random.size())) != 1) {
    // OpenSSL's generator failing means the system has no entropy source: nothing to serve on.
    throw std::runtime_error("RAND_bytes failed: no session id can be made");
  }
  Opened opened{hex(random.data(), random.size()), 0};
  std::lock_guard lock(mutex_);
  drop_expired(now);
  if (sessions_.size() >= kMaxSessions) {
    const auto oldest = std::min_element(sessions_.begin(), sessions_.end(), [](auto& a, auto& b) {
      return a.second.expires < b.second.expires;
    });
    sessions_.erase(oldest);
  }
  opened.serial = next_serial_++;
  sessions_[key_of(opened.id)] = Session{digest(token), opened.serial, now + kLifetime};
  return opened;
}

std::optional<std::uint64_t> AdminSessions::find(std::string_view id, std::string_view token,
                                                 TimePoint now) const {
  if (id.empty()) return std::nullopt;
  const std::string key = key_of(id);
  const Digest granted_by = digest(token);
  std::lock_guard lock(mutex_);
  const auto it = sessions_.find(key);
  if (it == sessions_.end() || it->second.expires <= now) return std::nullopt;
  if (CRYPTO_memcmp(it->second.token.data(), granted_by.data(), granted_by.size()) != 0) {
    return std::nullopt;  // granted by an admin token that a reload has since replaced
  }
  return it->second.serial;
}

std::optional<std::uint64_t> AdminSessions::close(std::string_view id) {
  if (id.empty()) return std::nullopt;
  const std::string key = key_of(id);
  std::lock_guard lock(mutex_);
  const auto it = sessions_.find(key);
  if (it == sessions_.end()) return std::nullopt;
  const auto serial = it->second.serial;
  sessions_.erase(it);
  return serial;
}

std::size_t AdminSessions::size() const {
  std::lock_guard lock(mutex_);
  return sessions_.size();
}

std::optional<std::string_view> cookie_value(std::string_view header, std::string_view name) {
  while (!header.empty()) {
    const auto semi = header.find(';');
    std::string_view pair = trim(header.substr(0, semi));
    header = semi == std::string_view::npos ? std::string_view{} : header.substr(semi + 1);
    const auto eq = pair.find('=');
    if (eq == std::string_view::npos || trim(pair.substr(0, eq)) != name) continue;
    std::string_view value = trim(pair.substr(eq + 1));
    if (value.size() >= 2 && value.front() == '"' && value.back() == '"') {
      value = value.substr(1, value.size() - 2);  // RFC 6265 allows a quoted value
    }
    return value;
  }
  return std::nullopt;
}

std::string session_cookie(std::string_view id, std::chrono::seconds max_age, bool secure) {
  std::string c(kSessionCookie);
  c += '=';
  c += id;
  c += "; Path=/; Max-Age=" + std::to_string(max_age.count()) + "; HttpOnly; SameSite=Strict";
  if (secure) c += "; Secure";
  return c;
}

bool csrf_safe(const net::HttpRequest& request) {
  namespace http = boost::beast::http;
  const auto method = request.method();
  if (method == http::verb::get || method == http::verb::head) return true;
  if (request[kAdminHeader] != "1") return false;
  const auto origin = request[http::field::origin];
  if (origin.empty()) return true;  // same-origin GETs and some clients send none
  const auto scheme_end = origin.find("://");
  if (scheme_end == std::string_view::npos) return false;  // "null" (a sandboxed frame, a file)
  return origin.substr(scheme_end + 3) == request[http::field::host];
}

}  // namespace bc::api
