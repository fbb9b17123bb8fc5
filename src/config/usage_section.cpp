#include "config/usage_section.h"

namespace bc::config {

namespace {
const std::vector<std::string> kUsageKeys = {"path", "retention_days", "flush_ms", "queue_size"};
}  // namespace

void read_usage_section(detail::Reader& reader, const detail::Entry& entry, UsageConfig& out) {
  detail::MapReader m(reader, entry.value, entry.line, "usage", kUsageKeys);
  if (!m.ok()) return;
  if (m.find("path") == nullptr) {
    m.missing("path",
              "the SQLite file of the usage ledger (omit the whole section to turn it off)");
  } else {
    m.get("path", out.path);
  }
  // A day at least (the daily rollups and quotas read back the current day), ten years at most.
  m.get("retention_days", out.retention_days, 1, 3650);
  // 10 ms to 60 s: shorter costs a transaction per handful of records, longer risks more on a
  // crash.
  m.get("flush_ms", out.flush_ms, 10, 60000);
  m.get("queue_size", out.queue_size, 16, 16 * 1024 * 1024);
}

}  // namespace bc::config
