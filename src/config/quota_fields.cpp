#include "config/quota_fields.h"

#include <cstdlib>
#include <fstream>
#include <limits>
#include <sstream>

namespace bc::config {

namespace {

constexpr std::int64_t kMaxCount = std::numeric_limits<std::int64_t>::max() / 4;

bool read_count(detail::Reader& reader, const detail::MapReader& m, const char* key,
                std::int64_t& out) {
  const detail::Entry* e = m.find(key);
  if (e == nullptr) return true;
  auto value = reader.integer(e->value, e->line, m.field(key), 0, kMaxCount);
  if (value) out = *value;
  return value.has_value();
}

// An IANA zone name as tzdata spells them: letters, digits, '_', '-', '+' and '/' between
// parts, never "..": it becomes a path.
bool plausible_zone_name(const std::string& name) {
  if (name.empty() || name.front() == '/' || name.find("..") != std::string::npos) return false;
  for (const char c : name) {
    const bool ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                    c == '_' || c == '-' || c == '+' || c == '/';
    if (!ok) return false;
  }
  return true;
}

}  // namespace

void read_quota_fields(detail::Reader& reader, const detail::MapReader& m, ModelConfig& out) {
  read_count(reader, m, "rpd", out.rpd);
  read_count(reader, m, "tpd", out.tpd);
  if (const detail::Entry* e = m.find("quota_reset_hour")) {
    if (auto hour = reader.integer(e->value, e->line, m.field("quota_reset_hour"), 0, 23)) {
      out.quota_reset_hour = static_cast<int>(*hour);
    }
  }
  const detail::Entry* e = m.find("quota_time_zone");
  if (e == nullptr) return;
  const std::string path = m.field("quota_time_zone");
  auto name = reader.string(e->value, e->line, path, true);
  if (!name) return;
  if (auto fixed = TimeZone::parse_fixed(*name)) {
    out.quota_time_zone = *fixed;
    return;
  }
  if (!plausible_zone_name(*name)) {
    reader.diag().add(e->line, path,
                      "'" + *name +
                          "' is neither UTC, an offset such as +08:00, nor a time zone "
                          "name such as America/Los_Angeles");
    return;
  }
  const char* tzdir = std::getenv("TZDIR");
  const std::string file =
      std::string(tzdir != nullptr && *tzdir ? tzdir : "/usr/share/zoneinfo") + "/" + *name;
  std::ifstream in(file, std::ios::binary);
  if (!in) {
    reader.diag().add(e->line, path,
                      "unknown time zone '" + *name + "' (no " + file + "; is tzdata installed?)");
    return;
  }
  std::stringstream bytes;
  bytes << in.rdbuf();
  auto zone = TimeZone::from_tzif(bytes.str(), *name);
  if (!zone) {
    reader.diag().add(e->line, path, zone.error().message);
    return;
  }
  out.quota_time_zone = std::move(*zone);
}

bool read_budget_fields(detail::Reader& reader, const detail::MapReader& m, ClientKeyConfig& out) {
  bool ok = read_count(reader, m, "requests_per_day", out.requests_per_day);
  ok = read_count(reader, m, "tokens_per_day", out.tokens_per_day) && ok;
  ok = read_count(reader, m, "tokens_per_month", out.tokens_per_month) && ok;
  return ok;
}

}  // namespace bc::config
