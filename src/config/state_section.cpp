// The `state:` section: which backend holds the shared counters and how to reach Redis.
#include "config/state_section.h"

#include <algorithm>

namespace bc::config::detail {
namespace {

const std::vector<std::string> kStateKeys = {
    "backend", "url", "password", "key_prefix", "timeout_ms", "lease_ms", "on_unavailable"};
const std::vector<std::string> kBackends = {"local", "redis"};
const std::vector<std::string> kOnUnavailable = {"serve_degraded", "refuse"};

}  // namespace

void read_state_section(Reader& reader, const Entry& entry, StateConfig& out) {
  MapReader m(reader, entry.value, entry.line, "state", kStateKeys);
  if (!m.ok()) return;
  m.get_choice("backend", kBackends, out.backend);
  m.get_choice("on_unavailable", kOnUnavailable, out.on_unavailable);
  m.get("timeout_ms", out.timeout_ms, 1, 60'000);
  m.get("lease_ms", out.lease_ms, 300, 3'600'000);
  if (m.find("key_prefix") != nullptr) m.get("key_prefix", out.key_prefix, false);

  std::string url;
  if (const Entry* e = m.find("url"); e != nullptr && m.get("url", url)) {
    auto parsed = parse_redis_url(url);
    if (parsed.endpoint) {
      out.redis = std::move(*parsed.endpoint);
    } else {
      reader.diag().add(e->line, m.field("url"), parsed.error);
    }
  } else if (e == nullptr && out.redis_enabled()) {
    m.missing("url", "backend redis needs the server's address (redis://host:port or unix:/path)");
  }
  // A password of its own, e.g. "${REDIS_PASSWORD}", for a unix socket or to keep it out of
  // the URL; it wins over one in the URL.
  if (m.find("password") != nullptr) m.get("password", out.redis.password, false);
}

}  // namespace bc::config::detail
