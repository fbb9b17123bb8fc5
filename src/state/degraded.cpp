// Degraded mode's pure decisions (state/degraded.h).
#include "state/degraded.h"

#include <algorithm>
#include <set>

namespace bc::state {

LiveView live_view(std::span<const Heartbeat> heartbeats, std::string_view self, long long now_ms,
                   long long ttl_ms) {
  std::set<std::string_view> alive{self};
  for (const auto& h : heartbeats) {
    if (h.at_ms > now_ms - ttl_ms) alive.insert(h.instance);
  }
  LiveView view;
  view.live = static_cast<int>(alive.size());
  view.rank = static_cast<int>(std::distance(alive.begin(), alive.find(self)));
  return view;
}

std::int64_t local_share(std::int64_t limit, LiveView view) {
  if (limit <= 0) return 0;
  const std::int64_t live = std::max(1, view.live);
  const std::int64_t rank = std::clamp(view.rank, 0, view.live > 0 ? view.live - 1 : 0);
  return limit / live + (rank < limit % live ? 1 : 0);
}

double local_rate_share(double rate, LiveView view) {
  if (rate <= 0) return 0;
  return rate / std::max(1, view.live);
}

std::chrono::milliseconds reconnect_delay(int failures, std::chrono::milliseconds base,
                                          std::chrono::milliseconds max, double unit_random) {
  if (failures < 1) return std::chrono::milliseconds(0);
  long long delay = base.count();
  for (int i = 1; i < failures && delay < max.count(); ++i) delay *= 2;
  delay = std::min(delay, static_cast<long long>(max.count()));
  const double jitter = 0.5 + 0.5 * std::clamp(unit_random, 0.0, 0.999999);
  return std::chrono::milliseconds(static_cast<long long>(static_cast<double>(delay) * jitter));
}

}  // namespace bc::state
