// Daily quotas (rpd, tpd) of a key: reserved at admission, settled with the real use, reset
// when the quota day ends by the wall clock the demand carries (a test clock here: the
// balance layer reads none), seeded from the ledger at startup.
#include <gtest/gtest.h>

#include <atomic>
#include <thread>
#include <vector>

#include "balance/key_load.h"
#include "balance/test_support.h"

namespace bc::balance {
namespace {

using testing::at;

constexpr std::int64_t kH = 3'600'000;
constexpr std::int64_t kJan31 = 1'738'281'600'000;  // 2025-01-31T00:00:00Z

KeyLimits quota(std::int64_t rpd, std::int64_t tpd, int reset_hour = 0) {
  KeyLimits l;
  l.rpd = rpd;
  l.tpd = tpd;
  l.quota_reset_hour = reset_hour;
  return l;
}

Demand at_wall(std::int64_t wall_ms, std::int64_t tokens = 10) {
  Demand d;
  d.wall_ms = wall_ms;
  d.estimated_tokens = tokens;
  return d;
}

TEST(DailyQuota, TheRequestPastRpdIsRefusedUntilTheDayEnds) {
  KeyLoad load(quota(2, 0));
  const std::int64_t wall = kJan31 + 10 * kH;
  for (int i = 0; i < 2; ++i) {
    auto a = load.try_admit(at_wall(wall), at(i));
    ASSERT_TRUE(a) << i;
    load.release(*a, true);
  }
  EXPECT_TRUE(load.at_quota(at(2)));
  EXPECT_FALSE(load.can_take(at_wall(wall), at(2)));
  EXPECT_FALSE(load.try_admit(at_wall(wall), at(2)));
  // Skipped until the end of the day: 14 h after 10:00 UTC, on the steady clock too.
  EXPECT_EQ(load.quota_until(), at(1) + std::chrono::hours(14));
  EXPECT_EQ(load.next_available(at_wall(wall), at(2)), load.quota_until());
  // The next day (by the wall clock, and past quota_until on the steady one) serves again.
  const std::int64_t tomorrow = kJan31 + 24 * kH + 1;
  const TimePoint later = at(1) + std::chrono::hours(14);
  EXPECT_FALSE(load.at_quota(later));
  auto a = load.try_admit(at_wall(tomorrow), later);
  ASSERT_TRUE(a);
  EXPECT_EQ(load.quota_use().requests, 1);
  EXPECT_EQ(load.quota_use().day_start_ms, kJan31 + 24 * kH);
}

TEST(DailyQuota, ASharedBlockHoldsTheKeyAtQuotaUntilItEnds) {
  // Other instances used the day up (state: redis): this one counted one request of 5 and
  // still skips the key, until the block ends, however its own counts change meanwhile.
  KeyLoad load(quota(5, 0));
  const std::int64_t wall = kJan31 + 10 * kH;
  auto a = load.try_admit(at_wall(wall), at(0));
  ASSERT_TRUE(a);
  load.block_quota(at(100), at(1));
  EXPECT_TRUE(load.at_quota(at(2)));
  EXPECT_EQ(load.quota_until(), at(100));
  load.release(*a, true);
  EXPECT_FALSE(load.try_admit(at_wall(wall), at(3)));
  EXPECT_TRUE(load.at_quota(at(99)));
  EXPECT_FALSE(load.at_quota(at(100)));
  EXPECT_TRUE(load.try_admit(at_wall(wall), at(100)));
  // A key without daily quotas ignores the block (nothing shared says so for it).
  KeyLoad unlimited(quota(0, 0));
  unlimited.block_quota(at(100), at(1));
  EXPECT_FALSE(unlimited.at_quota(at(2)));
}

TEST(DailyQuota, TokensAreReservedThenSettledWithTheRealUse) {
  KeyLoad load(quota(0, 100));
  const std::int64_t wall = kJan31 + kH;
  auto first = load.try_admit(at_wall(wall, 60), at(0));
  ASSERT_TRUE(first);
  // 60 reserved: a second request of 60 would cross 100 while the first runs.
  EXPECT_FALSE(load.try_admit(at_wall(wall, 60), at(0)));
  Outcome ok;
  ok.ok = true;
  ok.usage = Usage{10, 10, 20};
  load.learn(*first, ok, std::chrono::milliseconds(1000), at(1));
  load.release(*first, true);
  EXPECT_EQ(load.quota_use().tokens, 20);
  auto second = load.try_admit(at_wall(wall, 60), at(1));
  ASSERT_TRUE(second);
  ok.usage = Usage{40, 50, 90};
  load.learn(*second, ok, std::chrono::milliseconds(1000), at(2));
  load.release(*second, true);
  EXPECT_EQ(load.quota_use().tokens, 110);
  EXPECT_TRUE(load.at_quota(at(2)));
}

TEST(DailyQuota, ConcurrentAdmissionsNeverOvershoot) {
  KeyLoad load(quota(50, 0));
  const std::int64_t wall = kJan31 + kH;
  std::atomic<int> admitted{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 100; ++i) {
        if (auto a = load.try_admit(at_wall(wall), at(0))) {
          admitted.fetch_add(1);
          load.release(*a, true);
        }
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(admitted.load(), 50);
}

TEST(DailyQuota, TheDayStartsAtTheResetHour) {
  KeyLoad load(quota(1, 0, 7));
  auto a = load.try_admit(at_wall(kJan31 + 6 * kH), at(0));
  ASSERT_TRUE(a);
  EXPECT_TRUE(load.at_quota(at(1)));
  // 07:00 UTC: a new quota day, an hour later on the steady clock.
  EXPECT_EQ(load.quota_until(), at(0) + std::chrono::hours(1));
  EXPECT_TRUE(load.try_admit(at_wall(kJan31 + 7 * kH), at(3600)));
}

TEST(DailyQuota, SeedingFromTheLedgerCountsTheDaySoFar) {
  KeyLoad load(quota(5, 0));
  load.seed_quota(kJan31 + kH, at(0), 5, 123);
  EXPECT_TRUE(load.at_quota(at(0)));
  EXPECT_EQ(load.quota_use().tokens, 123);
  EXPECT_FALSE(load.try_admit(at_wall(kJan31 + kH), at(1)));
}

TEST(DailyQuota, APoolSkipsAKeyAtItsQuotaForAnother) {
  auto spec = testing::model_spec("m", {1, 1});
  spec.rpd = 1;
  auto pool = testing::make_pool({spec});
  ASSERT_TRUE(pool);
  Rng rng(1);
  const Demand demand = at_wall(kJan31 + kH);
  std::vector<Target> served;
  for (int i = 0; i < 3; ++i) {
    auto candidates = pool->candidates(demand, at(i), rng);
    if (candidates.empty()) break;
    auto lease = pool->try_acquire(candidates.front(), demand, at(i));
    ASSERT_TRUE(lease);
    served.push_back(lease->target());
    lease->settle(testing::ok_outcome(), at(i));
  }
  ASSERT_EQ(served.size(), 2u);
  EXPECT_NE(served[0].key, served[1].key);
}

// Through the pool, as the gateway settles: the day's tokens end as the answer's real use,
// not the estimate reserved at admission.
TEST(DailyQuota, APoolLeaseSettlesTheDaysTokensWithTheRealUse) {
  auto spec = testing::model_spec("m", {1});
  spec.tpd = 10'000;
  auto pool = testing::make_pool({spec});
  ASSERT_TRUE(pool);
  const Demand demand = at_wall(kJan31 + kH, 500);
  auto lease = pool->try_acquire({0, 0}, demand, at(1));
  ASSERT_TRUE(lease);
  EXPECT_EQ(pool->load({0, 0}).quota_use().tokens, 500);
  Outcome outcome = testing::ok_outcome();
  outcome.usage = Usage{30, 70, 100};
  lease->settle(outcome, at(2));
  EXPECT_EQ(pool->load({0, 0}).quota_use().tokens, 100);
  EXPECT_EQ(pool->load({0, 0}).quota_use().requests, 1);
}

}  // namespace
}  // namespace bc::balance
