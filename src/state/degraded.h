// The pure decisions of degraded mode, when Redis cannot be reached: how much of each limit
// this instance may use on its own (its share: the limit divided among the instances that
// were alive, from their heartbeats in Redis, never the whole limit while others live), and
// how long to wait before the next reconnection attempt. No clock and no I/O: times and
// randomness come in as arguments.
#pragma once

#include <chrono>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>

namespace bc::state {

// One instance's last heartbeat as read from Redis.
struct Heartbeat {
  std::string instance;
  long long at_ms = 0;  // Redis's clock
};

// The instances alive at `now_ms` (a heartbeat within `ttl_ms`), this one always among
// them, and this one's rank in their sorted ids (which gets a remainder first).
struct LiveView {
  int live = 1;
  int rank = 0;
};
LiveView live_view(std::span<const Heartbeat> heartbeats, std::string_view self, long long now_ms,
                   long long ttl_ms);

// This instance's part of an integer limit (max_concurrency, rpm, tpm, rpd, tpd): limit / live, the
// remainder going one each to the lowest ranks, so the parts over all live instances add up
// to the limit exactly. 0 for no limit stays 0 (unlimited); a part may be 0 when there are
// more instances than the limit allows: that instance then cannot use the key.
std::int64_t local_share(std::int64_t limit, LiveView view);

// This instance's part of a rate (max_qps): rate / live. 0 (no limit) stays 0.
double local_rate_share(double rate, LiveView view);

// How long to wait before reconnection attempt `failures` (1 after the first failure):
// base × 2^(failures-1), at most `max`, times a jitter factor in [0.5, 1) from
// `unit_random` in [0, 1), so that instances that lost Redis together do not return
// together.
std::chrono::milliseconds reconnect_delay(int failures, std::chrono::milliseconds base,
                                          std::chrono::milliseconds max, double unit_random);

}  // namespace bc::state
