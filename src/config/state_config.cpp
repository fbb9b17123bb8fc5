// Parses a Redis URL into an endpoint (config/state_config.h); refuses what it cannot use
// with a message that says what was expected.
#include "config/state_config.h"

#include <charconv>

namespace bc::config {
namespace {

constexpr std::string_view kExpected =
    "expected redis://[:password@]host[:port][/db] or unix:/path/to/redis.sock";

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// Percent-decoding, so a password may hold '@', ':' or '/'; nullopt on a broken escape.
std::optional<std::string> percent_decode(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] != '%') {
      out += s[i];
      continue;
    }
    if (i + 2 >= s.size()) return std::nullopt;
    const int hi = hex_value(s[i + 1]);
    const int lo = hex_value(s[i + 2]);
    if (hi < 0 || lo < 0) return std::nullopt;
    out += static_cast<char>(hi * 16 + lo);
    i += 2;
  }
  return out;
}

std::optional<int> whole_number(std::string_view s, int min, int max) {
  int value = 0;
  const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), value);
  if (s.empty() || ec != std::errc() || end != s.data() + s.size()) return std::nullopt;
  if (value < min || value > max) return std::nullopt;
  return value;
}

RedisUrlParse refuse(std::string why) {
  return {std::nullopt, std::move(why)};
}

RedisUrlParse parse_unix(std::string_view path) {
  if (path.starts_with("//")) path.remove_prefix(2);  // unix:///path
  if (!path.starts_with('/'))
    return refuse("a unix socket path must be absolute; " + std::string(kExpected));
  RedisEndpoint e;
  e.unix_path = std::string(path);
  return {e, {}};
}

}  // namespace

std::string RedisEndpoint::describe() const {
  if (!unix_path.empty()) return "unix:" + unix_path;
  const bool v6 = host.find(':') != std::string::npos;
  return (v6 ? "[" + host + "]" : host) + ":" + std::to_string(port);
}

RedisUrlParse parse_redis_url(std::string_view url) {
  if (url.starts_with("unix:")) return parse_unix(url.substr(5));
  constexpr std::string_view kScheme = "redis://";
  if (!url.starts_with(kScheme)) return refuse(std::string(kExpected));
  std::string_view rest = url.substr(kScheme.size());
  RedisEndpoint e;

  // The userinfo ends at the last '@', so an unencoded '@' in a password still works.
  if (const auto at = rest.rfind('@'); at != std::string_view::npos) {
    const std::string_view userinfo = rest.substr(0, at);
    rest = rest.substr(at + 1);
    const auto colon = userinfo.find(':');
    if (colon == std::string_view::npos)
      return refuse("the password goes after a ':' (redis://:password@host); " +
                    std::string(kExpected));
    auto user = percent_decode(userinfo.substr(0, colon));
    auto password = percent_decode(userinfo.substr(colon + 1));
    if (!user || !password) return refuse("a broken %-escape in the user or password");
    e.username = std::move(*user);
    e.password = std::move(*password);
  }

  std::string_view hostport = rest;
  if (const auto slash = rest.find('/'); slash != std::string_view::npos) {
    hostport = rest.substr(0, slash);
    const std::string_view db = rest.substr(slash + 1);
    if (!db.empty()) {
      const auto n = whole_number(db, 0, 1'000'000);
      if (!n)
        return refuse("the database after '/' must be a number, got '" + std::string(db) + "'");
      e.db = *n;
    }
  }
  std::string_view port;
  if (hostport.starts_with('[')) {  // [::1]:6379
    const auto close = hostport.find(']');
    if (close == std::string_view::npos) return refuse("an IPv6 host needs its closing ']'");
    e.host = std::string(hostport.substr(1, close - 1));
    const std::string_view after = hostport.substr(close + 1);
    if (!after.empty()) {
      if (!after.starts_with(':')) return refuse(std::string(kExpected));
      port = after.substr(1);
    }
  } else {
    const auto colon = hostport.find(':');
    e.host = std::string(hostport.substr(0, colon));
    if (colon != std::string_view::npos) port = hostport.substr(colon + 1);
  }
  if (e.host.empty()) return refuse("no host; " + std::string(kExpected));
  if (!port.empty() || hostport.ends_with(':')) {
    const auto n = whole_number(port, 1, 65535);
    if (!n)
      return refuse("the port must be a number from 1 to 65535, got '" + std::string(port) + "'");
    e.port = *n;
  }
  return {e, {}};
}

}  // namespace bc::config
