// The pool over time: leases, the breaker, reloads, many threads at once, waiting for a key and
// weights that follow live load.
#include <algorithm>
#include <array>
#include <atomic>
#include <set>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "balance/key_load.h"
#include "balance/pool.h"
#include "balance/test_support.h"

namespace bc::balance {
namespace {

using std::chrono::milliseconds;
using testing::at;
using testing::make_pool;
using testing::model_spec;
using testing::ok_outcome;

TEST(PoolLease, AnUnsettledLeaseFreesItsSlotAndTeachesNothing) {
  auto pool = make_pool({model_spec("m", {1}, "concurrency", 1)});
  {
    auto lease = pool->try_acquire({0, 0}, {}, at(0));
    ASSERT_TRUE(lease);
    EXPECT_EQ(pool->in_flight({0, 0}), 1);
    EXPECT_EQ(pool->model_in_flight(0), 1);
  }
  EXPECT_EQ(pool->in_flight({0, 0}), 0);
  EXPECT_EQ(pool->model_in_flight(0), 0);
  EXPECT_FALSE(pool->load({0, 0}).latency().has_value());
}

Outcome fault_outcome() {
  Outcome o;
  o.fault = true;
  o.latency = std::chrono::milliseconds(5);
  return o;
}

TEST(PoolBreaker, RepeatedFaultsTakeAKeyOutAndOneTrialBringsItBack) {
  ModelSpec spec = model_spec("m", {1, 1});
  spec.breaker.failures = 2;
  spec.breaker.window = std::chrono::seconds(10);
  spec.breaker.open_for = std::chrono::seconds(30);
  auto pool = make_pool({spec});
  Rng rng(1);
  for (double t : {1.0, 2.0}) pool->try_acquire({0, 0}, {}, at(t))->settle(fault_outcome(), at(t));
  // Open: only the other key is offered, and the pool knows when the first returns.
  for (int i = 0; i < 50; ++i) {
    for (const auto& target : pool->candidates({}, at(3), rng)) EXPECT_EQ(target.key, 1u);
  }
  EXPECT_FALSE(pool->try_acquire({0, 0}, {}, at(31.9)));
  // Half-open: one lease is the trial; while it runs nobody else gets the key.
  auto trial = pool->try_acquire({0, 0}, {}, at(32));
  ASSERT_TRUE(trial);
  EXPECT_FALSE(pool->try_acquire({0, 0}, {}, at(32.5)));
  trial->settle(ok_outcome(), at(33));
  EXPECT_TRUE(pool->try_acquire({0, 0}, {}, at(33)));
}

TEST(PoolBreaker, ATrialWhoseClientLeftFreesTheTrialForTheNextRequest) {
  ModelSpec spec = model_spec("m", {1});
  spec.breaker.failures = 1;
  auto pool = make_pool({spec});
  pool->try_acquire({0, 0}, {}, at(0))->settle(fault_outcome(), at(0));
  {
    auto trial = pool->try_acquire({0, 0}, {}, at(100));
    ASSERT_TRUE(trial);
  }  // unsettled
  EXPECT_TRUE(pool->try_acquire({0, 0}, {}, at(100)));
}

TEST(PoolBreaker, NextAvailableIsTheEndOfTheOpenPeriod) {
  ModelSpec spec = model_spec("m", {1});
  spec.breaker.failures = 1;
  spec.breaker.open_for = std::chrono::seconds(20);
  auto pool = make_pool({spec});
  pool->try_acquire({0, 0}, {}, at(5))->settle(fault_outcome(), at(5));
  const auto next = pool->next_available({}, at(6));
  ASSERT_TRUE(next);
  EXPECT_EQ(*next, at(25));
}

TEST(PoolReload, KeysInBothConfigsKeepTheirLiveStateAndAQuarantineIsLifted) {
  auto old = make_pool({model_spec("m", {1, 1}, "concurrency", 2), model_spec("gone", {1})});
  auto running = old->try_acquire({0, 0}, {}, at(0));  // a request still running on the old pool
  ASSERT_TRUE(running);
  old->cool_down({0, 1}, at(30));
  old->set_disabled({0, 0}, true);

  // Same model and secrets; a new key; the other model removed.
  ModelSpec next = model_spec("m", {1, 1, 1}, "concurrency", 2);
  auto pool = Pool::create({next}, old.get());
  ASSERT_TRUE(pool.ok());
  auto& p = *pool.value();
  EXPECT_EQ(&p.load({0, 0}), &old->load({0, 0}));  // one set of counters for both
  EXPECT_EQ(p.in_flight({0, 0}), 1);
  EXPECT_FALSE(p.load({0, 0}).disabled());
  EXPECT_TRUE(p.load({0, 1}).cooling(at(29)));
  EXPECT_EQ(p.in_flight({0, 2}), 0);
  // The old request's slot still counts against the key's limit of 2, then frees in both.
  auto second = p.try_acquire({0, 0}, {}, at(1));
  ASSERT_TRUE(second);
  EXPECT_FALSE(p.try_acquire({0, 0}, {}, at(1)));
  running.reset();
  EXPECT_EQ(p.in_flight({0, 0}), 1);
  EXPECT_TRUE(p.try_acquire({0, 0}, {}, at(1)));
}

TEST(PoolReload, AKeyWhoseLimitsChangedStartsAfreshButKeepsItsCooldown) {
  auto old = make_pool({model_spec("m", {1}, "concurrency", 2)});
  auto running = old->try_acquire({0, 0}, {}, at(0));
  old->cool_down({0, 0}, at(30));
  auto pool = Pool::create({model_spec("m", {1}, "concurrency", 5)}, old.get());
  ASSERT_TRUE(pool.ok());
  auto& p = *pool.value();
  EXPECT_NE(&p.load({0, 0}), &old->load({0, 0}));
  EXPECT_EQ(p.load({0, 0}).limits().max_concurrency, 5);
  EXPECT_EQ(p.in_flight({0, 0}), 0);
  EXPECT_TRUE(p.load({0, 0}).cooling(at(29)));
}

TEST(PoolReload, AnotherSecretUnderTheSameIdIsANewKey) {
  auto old = make_pool({model_spec("m", {1})});
  old->set_disabled({0, 0}, true);
  ModelSpec next = model_spec("m", {1});
  next.keys[0].secret = "a-new-secret";
  auto pool = Pool::create({next}, old.get());
  ASSERT_TRUE(pool.ok());
  EXPECT_NE(&pool.value()->load({0, 0}), &old->load({0, 0}));
  EXPECT_TRUE(old->load({0, 0}).disabled());
}

TEST(PoolLease, MovingALeaseMovesTheSlotAndSettlingTwiceIsHarmless) {
  auto pool = make_pool({model_spec("m", {1}, "concurrency", 2)});
  auto first = pool->try_acquire({0, 0}, {}, at(0));
  auto second = pool->try_acquire({0, 0}, {}, at(0));
  ASSERT_TRUE(first && second);
  Lease moved = std::move(*first);
  EXPECT_EQ(pool->in_flight({0, 0}), 2);
  moved = std::move(*second);  // the slot `moved` held is freed
  EXPECT_EQ(pool->in_flight({0, 0}), 1);
  moved.settle(ok_outcome(), at(1));
  moved.settle(ok_outcome(), at(1));
  EXPECT_EQ(pool->in_flight({0, 0}), 0);
  EXPECT_TRUE(pool->load({0, 0}).latency().has_value());
}

TEST(PoolLease, TryAcquireFailsWhenAnotherRequestTookTheLastSlot) {
  auto pool = make_pool({model_spec("m", {1}, "concurrency", 1)});
  Rng rng(1);
  const auto order = pool->candidates({}, at(0), rng);
  ASSERT_EQ(order.size(), 1u);
  auto other = pool->try_acquire(order.front(), {}, at(0));
  ASSERT_TRUE(other);
  EXPECT_FALSE(pool->try_acquire(order.front(), {}, at(0)));
}

TEST(PoolLease, ReleaseListenerHearsEveryFreedSlot) {
  auto pool = make_pool({model_spec("m", {1, 1})});
  std::vector<Target> freed;
  pool->set_release_listener([&](Target t) { freed.push_back(t); });
  {
    auto a = pool->try_acquire({0, 1}, {}, at(0));
    auto b = pool->try_acquire({0, 0}, {}, at(0));
    a->settle(ok_outcome(), at(0));
  }
  ASSERT_EQ(freed.size(), 2u);
  EXPECT_EQ(freed[0], (Target{0, 1}));
  EXPECT_EQ(freed[1], (Target{0, 0}));
}

TEST(PoolLease, GiveBackTakesBackTheStartAndWakesNoWaiter) {
  auto spec = model_spec("m", {1}, "qps", 1);
  spec.max_qps = 2;
  spec.rpm = 3;
  auto pool = make_pool({spec});
  std::vector<Target> freed;
  pool->set_release_listener([&](Target t) { freed.push_back(t); });
  // Four starts given back: none counts against max_qps 2 or rpm 3, nothing is woken.
  for (int i = 0; i < 4; ++i) {
    auto lease = pool->try_acquire({0, 0}, {}, at(0.01 * i));
    ASSERT_TRUE(lease) << "start " << i;
    EXPECT_EQ(pool->in_flight({0, 0}), 1);
    lease->give_back(at(0.01 * i));
    EXPECT_EQ(pool->in_flight({0, 0}), 0);
  }
  EXPECT_TRUE(freed.empty());
  EXPECT_EQ(pool->load({0, 0}).qps_used(at(0.05)), 0);
  EXPECT_EQ(pool->load({0, 0}).rpm_used(at(0.05)), 0);
  // A start that ran counts; the window still holds one more.
  pool->try_acquire({0, 0}, {}, at(0.1))->settle(ok_outcome(), at(0.1));
  EXPECT_EQ(freed.size(), 1u);
  EXPECT_EQ(pool->load({0, 0}).qps_used(at(0.1)), 1);
  EXPECT_TRUE(pool->try_acquire({0, 0}, {}, at(0.2)));
}

TEST(PoolConcurrency, ManyThreadsNeverTakeAKeyPastMaxConcurrency) {
  constexpr int kMax = 2;
  auto pool = make_pool({model_spec("a", {3, 2, 1}, "concurrency", kMax),
                         model_spec("b", {1, 1}, "response_time", kMax)});
  std::array<std::atomic<int>, 200> held{};
  std::array<std::atomic<int>, 200> observed{};
  std::atomic<int> acquired{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&, t] {
      Rng rng(static_cast<std::uint64_t>(t) + 1);
      std::vector<Lease> mine;
      for (int i = 0; i < 20000; ++i) {
        const TimePoint now = at(i * 1e-4);
        if (!mine.empty() && (rng.next() % 2 == 0 || mine.size() > 3)) {
          const std::size_t j = rng.next() % mine.size();
          const Target target = mine[j].target();
          held[target.model * 100 + target.key].fetch_sub(1);
          if (rng.next() % 4 == 0) {
            mine.erase(mine.begin() + static_cast<std::ptrdiff_t>(j));  // unsettled
          } else {
            mine[j].settle(ok_outcome(milliseconds(1 + rng.next() % 50)), now);
            mine.erase(mine.begin() + static_cast<std::ptrdiff_t>(j));
          }
          continue;
        }
        for (const Target& target : pool->candidates({}, now, rng)) {
          // Count before acquiring would overstate; count right after, while the slot is held.
          auto lease = pool->try_acquire(target, {}, now);
          if (!lease) continue;
          const int id = static_cast<int>(target.model * 100 + target.key);
          const int now_held = held[id].fetch_add(1) + 1;
          int seen = observed[id].load();
          while (now_held > seen && !observed[id].compare_exchange_weak(seen, now_held)) {
          }
          acquired.fetch_add(1);
          mine.push_back(std::move(*lease));
          break;
        }
      }
      for (Lease& lease : mine) held[lease.target().model * 100 + lease.target().key].fetch_sub(1);
    });
  }
  for (auto& t : threads) t.join();
  int max_seen = 0;
  for (auto& o : observed) max_seen = std::max(max_seen, o.load());
  EXPECT_LE(max_seen, kMax);
  EXPECT_EQ(max_seen, kMax);  // the test did push keys to their limit
  EXPECT_GT(acquired.load(), 10000);
  for (std::uint32_t m = 0; m < 2; ++m) {
    for (std::uint32_t k = 0; k < pool->model(m).keys.size(); ++k) {
      EXPECT_EQ(pool->in_flight({m, k}), 0);
    }
    EXPECT_EQ(pool->model_in_flight(m), 0);
  }
}

TEST(PoolQueueSupport, NextAvailableIsTheEarliestCooldownEnd) {
  auto pool = make_pool({model_spec("m", {1, 1})});
  pool->cool_down({0, 0}, at(5));
  pool->cool_down({0, 1}, at(3));
  EXPECT_EQ(pool->next_available({}, at(1)), at(3));
  EXPECT_EQ(pool->next_available({}, at(4)), at(4));  // key 1 is free again
}

TEST(PoolAutoWeight, TrafficMovesToTheFasterKeyAndTheReportShowsIt) {
  auto spec = model_spec("m", {1, 1}, "concurrency", 10);
  spec.auto_weight = true;
  auto pool = make_pool({spec});
  for (int i = 0; i < 20; ++i) {
    pool->try_acquire({0, 0}, {}, at(0))->settle(ok_outcome(milliseconds(400)), at(0));
    pool->try_acquire({0, 1}, {}, at(0))->settle(ok_outcome(milliseconds(100)), at(0));
  }
  Demand demand;
  const double slow = pool->effective_weight({0, 0}, demand, at(1));
  const double fast = pool->effective_weight({0, 1}, demand, at(1));
  EXPECT_NEAR(fast / slow, 4.0, 0.01);  // mean 250 ms: 2.5 against 0.625
  // Keys keep their speeds: the slow one answers in 400 ms, the fast one in 100 ms.
  Rng rng(3);
  int fast_picks = 0;
  for (int i = 0; i < 1000; ++i) {
    const TimePoint now = at(1 + i * 0.001);
    const Target t = pool->candidates(demand, now, rng).front();
    fast_picks += t.key == 1 ? 1 : 0;
    pool->try_acquire(t, demand, now)
        ->settle(ok_outcome(milliseconds(t.key == 1 ? 100 : 400)), now);
  }
  EXPECT_NEAR(fast_picks, 800, 20);
}

TEST(PoolAutoWeight, ABusyKeyGetsLessTrafficThanAnIdleOne) {
  auto spec = model_spec("m", {1, 1}, "concurrency", 4);
  spec.auto_weight = true;
  auto pool = make_pool({spec});
  std::vector<Lease> busy;
  for (int i = 0; i < 3; ++i) busy.push_back(std::move(*pool->try_acquire({0, 0}, {}, at(0))));
  // 1 of 4 free against 4 of 4.
  EXPECT_NEAR(pool->effective_weight({0, 0}, {}, at(0)) / pool->effective_weight({0, 1}, {}, at(0)),
              0.25, 1e-9);
  EXPECT_DOUBLE_EQ(pool->effective_model_weight(0, at(0)), 1.0 * (1 - 3.0 / 8));
}

}  // namespace
}  // namespace bc::balance
