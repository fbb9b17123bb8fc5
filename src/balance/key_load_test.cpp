#include "balance/key_load.h"

#include <atomic>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "balance/test_support.h"

namespace bc::balance {
namespace {

using std::chrono::milliseconds;
using testing::at;

KeyLimits concurrency(int max) {
  KeyLimits limits;
  limits.max_concurrency = max;
  return limits;
}

TEST(KeyLoad, AdmitsUpToMaxConcurrencyAndReleaseFreesASlot) {
  KeyLoad load(concurrency(2));
  const Demand demand;
  ASSERT_TRUE(load.try_admit(demand, at(0)));
  ASSERT_TRUE(load.try_admit(demand, at(0)));
  EXPECT_FALSE(load.can_take(demand, at(0)));
  EXPECT_FALSE(load.try_admit(demand, at(0)));
  EXPECT_EQ(load.in_flight(), 2);
  load.release(Admission{}, true);
  EXPECT_TRUE(load.can_take(demand, at(0)));
  EXPECT_TRUE(load.try_admit(demand, at(0)));
}

TEST(KeyLoad, CooldownBlocksUntilItEndsAndIsNeverShortened) {
  KeyLoad load(concurrency(0));
  Outcome outcome;
  outcome.action = KeyAction::kCooldown;
  outcome.cooldown = milliseconds(2000);
  load.learn({}, outcome, milliseconds(5000), at(10));
  EXPECT_TRUE(load.cooling(at(11.9)));
  EXPECT_FALSE(load.try_admit({}, at(11.9)));
  load.cool_down(at(11));  // an earlier end does not cut it short
  EXPECT_FALSE(load.can_take({}, at(11.5)));
  EXPECT_TRUE(load.can_take({}, at(12)));
  EXPECT_TRUE(load.try_admit({}, at(12)));
}

TEST(KeyLoad, CooldownWithoutALengthUsesTheModelDefault) {
  KeyLoad load(concurrency(0));
  Outcome outcome;
  outcome.action = KeyAction::kCooldown;
  load.learn({}, outcome, milliseconds(5000), at(0));
  EXPECT_TRUE(load.cooling(at(4.9)));
  EXPECT_FALSE(load.cooling(at(5)));
}

TEST(KeyLoad, DisabledKeyTakesNothingUntilEnabled) {
  KeyLoad load(concurrency(0));
  Outcome outcome;
  outcome.action = KeyAction::kDisable;
  load.learn({}, outcome, milliseconds(0), at(0));
  EXPECT_TRUE(load.disabled());
  EXPECT_FALSE(load.can_take({}, at(1000)));
  EXPECT_FALSE(load.try_admit({}, at(1000)));
  EXPECT_FALSE(load.next_available({}, at(0)).has_value());
  load.set_disabled(false);
  EXPECT_TRUE(load.try_admit({}, at(1000)));
}

TEST(KeyLoad, LatencyAverageMovesTowardNewSamplesFasterWhenOldIsStale) {
  KeyLimits limits;
  limits.decay_factor = 0.5;
  KeyLoad fresh(limits);
  KeyLoad stale(limits);
  EXPECT_FALSE(fresh.latency().has_value());
  for (KeyLoad* load : {&fresh, &stale}) {
    load->learn({}, testing::ok_outcome(milliseconds(100)), milliseconds(0), at(0));
  }
  EXPECT_EQ(fresh.latency()->count(), 100'000'000);
  fresh.learn({}, testing::ok_outcome(milliseconds(300)), milliseconds(0), at(0));
  stale.learn({}, testing::ok_outcome(milliseconds(300)), milliseconds(0), at(3));
  // Right after: keeps 0.5 of the old. Three seconds later: keeps 0.5^4.
  EXPECT_NEAR(static_cast<double>(fresh.latency()->count()), 200e6, 1e3);
  EXPECT_NEAR(static_cast<double>(stale.latency()->count()), 100e6 / 16 + 300e6 * 15 / 16, 1e3);
}

TEST(KeyLoad, AFailureMakesAKeySlowerButNeverFaster) {
  KeyLoad load(KeyLimits{});
  load.learn({}, testing::ok_outcome(milliseconds(500)), milliseconds(0), at(0));
  Outcome quick_failure;
  quick_failure.latency = milliseconds(5);
  load.learn({}, quick_failure, milliseconds(0), at(1));
  EXPECT_EQ(load.latency()->count(), 500'000'000);
  Outcome slow_failure;
  slow_failure.latency = milliseconds(5000);
  load.learn({}, slow_failure, milliseconds(0), at(1));
  EXPECT_GT(load.latency()->count(), 500'000'000);
}

TEST(KeyLoad, ConcurrentAdmittersNeverExceedMaxConcurrency) {
  KeyLoad load(concurrency(3));
  std::atomic<int> observed{0};
  std::atomic<int> held{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 20000; ++i) {
        const auto admission = load.try_admit({}, at(0));
        if (!admission) continue;
        const int now = held.fetch_add(1) + 1;
        int seen = observed.load();
        while (now > seen && !observed.compare_exchange_weak(seen, now)) {
        }
        held.fetch_sub(1);
        load.release(*admission, false);
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_LE(observed.load(), 3);
  EXPECT_GE(observed.load(), 1);
  EXPECT_EQ(load.in_flight(), 0);
}

TEST(KeyLoad, CanTakeAgreesWithTryAdmitUnderEveryLimit) {
  KeyLimits limits;
  limits.max_qps = 3;
  limits.rpm = 40;
  limits.tpm = 5000;
  KeyLoad load(limits);
  Rng rng(23);
  double t = 0;
  int admitted = 0;
  int refused = 0;
  for (int i = 0; i < 20000; ++i) {
    t += rng.uniform() * 0.2;
    Demand demand;
    demand.estimated_tokens = static_cast<std::int64_t>(rng.next() % 400);
    const bool can = load.can_take(demand, at(t));
    const auto admission = load.try_admit(demand, at(t));
    ASSERT_EQ(can, admission.has_value()) << "at " << t;
    if (!admission) {
      ++refused;
      continue;
    }
    ++admitted;
    load.release(*admission, true);
    if (rng.next() % 2 == 0) {
      Outcome outcome = testing::ok_outcome();
      const auto real = static_cast<std::int64_t>(rng.next() % 400);
      outcome.usage = Usage{real / 2, real - real / 2, real};
      load.learn(*admission, outcome, milliseconds(0), at(t));
    }
  }
  // Every limit was met many times, and the key still served.
  EXPECT_GT(admitted, 1000);
  EXPECT_GT(refused, 1000);
}

TEST(KeyLoad, FreeFractionFollowsTheTightestLimit) {
  KeyLimits limits;
  limits.max_concurrency = 4;
  limits.max_qps = 2;
  KeyLoad load(limits);
  EXPECT_DOUBLE_EQ(load.free_fraction(), 1.0);
  ASSERT_TRUE(load.try_admit({}, at(0)));
  EXPECT_DOUBLE_EQ(load.free_fraction(), 0.5);  // qps: 1 of 2 used; concurrency: 1 of 4
}

TEST(KeyLoad, NextAvailableIsTheEndOfTheCooldownOrWindow) {
  KeyLimits limits;
  limits.max_qps = 1;
  KeyLoad load(limits);
  EXPECT_EQ(load.next_available({}, at(0)), at(0));
  ASSERT_TRUE(load.try_admit({}, at(0)));
  EXPECT_EQ(load.next_available({}, at(0.2)), at(1.01));
  load.cool_down(at(3));
  EXPECT_EQ(load.next_available({}, at(0.2)), at(3));
}

TEST(KeyLoad, AConcurrencyErrorLowersTheLimitByOneUntilASuccess) {
  KeyLoad load(concurrency(3));
  Outcome refused;
  refused.concurrency_limited = true;
  refused.action = KeyAction::kCooldown;
  std::vector<Admission> held;
  for (int i = 0; i < 3; ++i) held.push_back(*load.try_admit({}, at(0)));
  load.learn(held[2], refused, std::chrono::milliseconds(0), at(0));  // 3 in flight: too many
  load.release(held[2], true);
  EXPECT_EQ(load.concurrency_limit(), 2);
  EXPECT_FALSE(load.can_take({}, at(0)));                             // 2 still in flight
  load.learn(held[1], refused, std::chrono::milliseconds(0), at(0));  // again, with 2
  load.release(held[1], true);
  EXPECT_EQ(load.concurrency_limit(), 1);
  EXPECT_FALSE(load.try_admit({}, at(0)));
  load.learn(held[0], refused, std::chrono::milliseconds(0), at(0));
  load.release(held[0], true);
  EXPECT_EQ(load.concurrency_limit(), 1);  // never below one
  const auto next = load.try_admit({}, at(0));
  ASSERT_TRUE(next);
  load.learn(*next, testing::ok_outcome(), std::chrono::milliseconds(0), at(1));
  load.release(*next, true);
  EXPECT_EQ(load.concurrency_limit(), 3);  // a success restores the configured limit
}

TEST(KeyLoad, AKeyWithoutALimitLearnsOneFromAConcurrencyError) {
  KeyLoad load(KeyLimits{});
  Outcome refused;
  refused.concurrency_limited = true;
  std::vector<Admission> held;
  for (int i = 0; i < 4; ++i) held.push_back(*load.try_admit({}, at(0)));
  load.learn(held[3], refused, std::chrono::milliseconds(0), at(0));
  EXPECT_EQ(load.concurrency_limit(), 3);
  for (auto& a : held) load.release(a, true);
  EXPECT_EQ(load.in_flight(), 0);
}

}  // namespace
}  // namespace bc::balance
