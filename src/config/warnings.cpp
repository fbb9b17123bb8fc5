#include "config/warnings.h"

#include <charconv>

namespace bc::config {

namespace {

// "127.a.b.c" with every part a number up to 255.
bool is_ipv4_loopback(std::string_view host) {
  if (!host.starts_with("127.")) return false;
  int parts = 0;
  while (true) {
    const auto dot = host.find('.');
    const auto part = host.substr(0, dot);
    int value = -1;
    const auto [end, ec] = std::from_chars(part.data(), part.data() + part.size(), value);
    if (part.empty() || ec != std::errc() || end != part.data() + part.size() || value > 255) {
      return false;
    }
    ++parts;
    if (dot == std::string_view::npos) break;
    host.remove_prefix(dot + 1);
  }
  return parts == 4;
}

}  // namespace

bool is_loopback_host(std::string_view host) {
  if (host.size() > 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
  }
  if (host == "localhost" || host == "::1" || host == "0:0:0:0:0:0:0:1") return true;
  if (host.starts_with("::ffff:")) host.remove_prefix(7);
  return is_ipv4_loopback(host);
}

std::vector<std::string> security_warnings(const Config& config, std::string_view host) {
  std::vector<std::string> out;
  const std::string where = config.source + ": warning: ";
  const bool clients = !config.auth.client_keys.empty();
  if (!clients && !is_loopback_host(host)) {
    out.push_back(where + "server.host is '" + std::string(host) +
                  "', not a loopback address, and auth.client_keys is empty: anyone who can "
                  "reach port " +
                  std::to_string(config.server.port) +
                  " can use the upstream keys. Configure auth.client_keys, or listen on "
                  "127.0.0.1 behind a proxy that authenticates.");
  }
  if (clients && config.admin.metrics_token.empty()) {
    out.push_back(where +
                  "auth.client_keys is set but admin.metrics_token is not: /metrics (key ids, "
                  "per-key and per-model traffic) is readable by anyone who reaches the port. "
                  "Set admin.metrics_token, or keep the port from untrusted networks.");
  }
  return out;
}

}  // namespace bc::config
