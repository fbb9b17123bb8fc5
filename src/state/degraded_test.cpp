// Degraded mode's pure decisions: local shares that add up to the limit, live instances from
// heartbeats, reconnection backoff.
#include "state/degraded.h"

#include <gtest/gtest.h>

#include <vector>

namespace bc::state {
namespace {

using namespace std::chrono_literals;

TEST(Degraded, SharesOfALimitAddUpToItAndNeverExceedIt) {
  for (int limit : {1, 2, 3, 5, 7, 10, 100}) {
    for (int live = 1; live <= 6; ++live) {
      int sum = 0;
      for (int rank = 0; rank < live; ++rank) {
        const int share = local_share(limit, {live, rank});
        EXPECT_GE(share, limit / live);
        EXPECT_LE(share, limit / live + 1);
        sum += share;
      }
      EXPECT_EQ(sum, limit) << limit << " over " << live;
    }
  }
}

TEST(Degraded, NoLimitStaysNoLimitAndAlonePeersGetTheWhole) {
  EXPECT_EQ(local_share(0, {3, 1}), 0);
  EXPECT_EQ(local_share(3, {1, 0}), 3);
  EXPECT_EQ(local_share(3, {3, 2}), 1);
  EXPECT_EQ(local_share(2, {3, 2}), 0);  // more instances than slots: the last has none
  EXPECT_DOUBLE_EQ(local_rate_share(5, {2, 0}), 2.5);
  EXPECT_DOUBLE_EQ(local_rate_share(0, {2, 0}), 0);
}

TEST(Degraded, LiveInstancesComeFromRecentHeartbeatsAndIncludeThisOne) {
  const std::vector<Heartbeat> beats = {{"b", 9'500}, {"c", 5'000}, {"a", 9'900}, {"d", 9'000}};
  const LiveView view = live_view(beats, "c", 10'000, 2'000);  // c's own beat is stale
  EXPECT_EQ(view.live, 4);                                     // a, b, c, d
  EXPECT_EQ(view.rank, 2);
  const LiveView strict = live_view(beats, "b", 10'000, 800);  // a and b only
  EXPECT_EQ(strict.live, 2);
  EXPECT_EQ(strict.rank, 1);
  EXPECT_EQ(live_view({}, "solo", 10'000, 1'000).live, 1);
}

TEST(Degraded, ReconnectDelayDoublesUpToTheMaxWithJitter) {
  EXPECT_EQ(reconnect_delay(0, 100ms, 5s, 0.0), 0ms);
  EXPECT_EQ(reconnect_delay(1, 100ms, 5s, 0.999999), 99ms);
  EXPECT_EQ(reconnect_delay(1, 100ms, 5s, 0.0), 50ms);
  EXPECT_EQ(reconnect_delay(4, 100ms, 5s, 0.0), 400ms);
  EXPECT_EQ(reconnect_delay(30, 100ms, 5s, 0.0), 2500ms);
  EXPECT_LT(reconnect_delay(1000, 100ms, 5s, 0.99), 5s);
}

}  // namespace
}  // namespace bc::state
