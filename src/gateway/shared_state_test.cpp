// The instance-wide side of shared state: degraded while any worker lacks Redis, and the local
// rate window that holds a key to this instance's share of max_qps while Redis is down.
#include "gateway/shared_state.h"

#include <gtest/gtest.h>

namespace bc::gateway {
namespace {

using std::chrono::milliseconds;

config::StateConfig redis_state() {
  config::StateConfig c;
  c.backend = "redis";
  return c;
}

TEST(SharedState, DegradedWhileAnyWorkerLacksRedis) {
  SharedState state(redis_state());
  EXPECT_FALSE(state.degraded());
  EXPECT_EQ(state.worker_joined(), 0);
  EXPECT_EQ(state.worker_joined(), 1);
  EXPECT_TRUE(state.degraded()) << "a worker is down until its first heartbeat";
  state.worker_changed(false, true, {});
  EXPECT_TRUE(state.degraded());
  state.worker_changed(false, true, {});
  EXPECT_FALSE(state.degraded());
  state.worker_changed(true, false, "Connection refused");
  EXPECT_TRUE(state.degraded());
  // A worker that reports down again while down counts once.
  state.worker_changed(false, false, "Connection refused");
  state.worker_changed(false, true, {});
  EXPECT_FALSE(state.degraded());
  state.worker_left(true);
  EXPECT_FALSE(state.degraded());
}

TEST(SharedState, InstanceIdsDiffer) {
  SharedState a(redis_state());
  SharedState b(redis_state());
  EXPECT_FALSE(a.instance_id().empty());
  EXPECT_NE(a.instance_id(), b.instance_id());
}

TEST(SharedState, LocalRateShareHoldsAKeyToItsWindow) {
  SharedState state(redis_state());
  const TimePoint t0{};
  milliseconds wait{0};
  // A share of 2.5 qps admits 2 in any second (never more than the share).
  EXPECT_TRUE(state.take_local_rate("m/k", 2.5, t0, wait));
  EXPECT_TRUE(state.take_local_rate("m/k", 2.5, t0 + milliseconds(100), wait));
  EXPECT_FALSE(state.take_local_rate("m/k", 2.5, t0 + milliseconds(200), wait));
  EXPECT_EQ(wait, milliseconds(800));
  // Another key has a window of its own.
  EXPECT_TRUE(state.take_local_rate("m/other", 2.5, t0 + milliseconds(200), wait));
  EXPECT_TRUE(state.take_local_rate("m/k", 2.5, t0 + milliseconds(1000), wait));
  EXPECT_FALSE(state.take_local_rate("m/k", 2.5, t0 + milliseconds(1050), wait));
  EXPECT_EQ(wait, milliseconds(50));
  // Below 1 qps: one request per 1/rate seconds.
  EXPECT_TRUE(state.take_local_rate("m/slow", 0.5, t0, wait));
  EXPECT_FALSE(state.take_local_rate("m/slow", 0.5, t0 + milliseconds(1500), wait));
  EXPECT_EQ(wait, milliseconds(500));
}

}  // namespace
}  // namespace bc::gateway
