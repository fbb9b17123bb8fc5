#include "balance/pool.h"

#include <algorithm>
#include <array>
#include <atomic>
#include <set>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "balance/key_load.h"
#include "balance/test_support.h"

namespace bc::balance {
namespace {

using std::chrono::milliseconds;
using testing::at;
using testing::make_pool;
using testing::model_spec;
using testing::ok_outcome;

// Picks `n` times (first candidate, acquire, settle at once) and returns what was picked, as
// model * 100 + key.
std::vector<int> pick_and_settle(Pool& pool, int n, const Demand& demand = {}, double t0 = 0) {
  Rng rng(42);
  std::vector<int> picks;
  for (int i = 0; i < n; ++i) {
    const TimePoint now = at(t0 + i * 0.001);
    const auto candidates = pool.candidates(demand, now, rng);
    if (candidates.empty()) {
      ADD_FAILURE() << "no candidate at pick " << i;
      break;
    }
    auto lease = pool.try_acquire(candidates.front(), demand, now);
    if (!lease) {
      ADD_FAILURE() << "acquire failed at pick " << i;
      break;
    }
    picks.push_back(static_cast<int>(candidates.front().model * 100 + candidates.front().key));
    lease->settle(ok_outcome(), now);
  }
  return picks;
}

// Shares of each id within `total_points` over the run and `window_points` in every window of
// 100 consecutive picks.
void expect_shares(const std::vector<int>& picks, const std::vector<std::pair<int, double>>& want,
                   double total_points = 2, double window_points = 5) {
  for (const auto& [id, share] : want) {
    const auto count = std::count(picks.begin(), picks.end(), id);
    EXPECT_NEAR(100.0 * static_cast<double>(count) / static_cast<double>(picks.size()), 100 * share,
                total_points)
        << "target " << id;
    int in_window = 0;
    for (std::size_t i = 0; i < picks.size(); ++i) {
      in_window += picks[i] == id ? 1 : 0;
      if (i >= 100) in_window -= picks[i - 100] == id ? 1 : 0;
      if (i >= 99) {
        ASSERT_NEAR(in_window, 100 * share, window_points)
            << "target " << id << ", window ending at pick " << i;
      }
    }
  }
}

TEST(PoolCreate, RejectsAnUnknownStrategyListingTheKnownOnes) {
  auto pool = Pool::create({model_spec("glm", {1}, "fastest")});
  ASSERT_FALSE(pool.ok());
  const std::string& message = pool.error().message;
  EXPECT_NE(message.find("'glm'"), std::string::npos) << message;
  EXPECT_NE(message.find("'fastest'"), std::string::npos) << message;
  for (const char* known : {"concurrency", "qps", "response_time", "tokens"}) {
    EXPECT_NE(message.find(known), std::string::npos) << message;
  }
}

TEST(PoolCreate, RejectsBadModelsNamingThem) {
  const auto fails = [](std::vector<ModelSpec> specs, const char* needle) {
    auto pool = Pool::create(std::move(specs));
    ASSERT_FALSE(pool.ok()) << needle;
    EXPECT_NE(pool.error().message.find(needle), std::string::npos) << pool.error().message;
  };
  fails({model_spec("a", {})}, "no keys");
  fails({model_spec("a", {1, 0})}, "weight");
  fails({model_spec("a", {1}), model_spec("a", {1})}, "two models");
  auto dup = model_spec("a", {1, 1});
  dup.keys[1].id = dup.keys[0].id;
  fails({dup}, "two keys");
  auto decay = model_spec("a", {1});
  decay.decay_factor = 1;
  fails({decay}, "decay_factor");
  auto weight = model_spec("a", {1});
  weight.weight = -1;
  fails({weight}, "model_weight");
}

TEST(PoolCreate, FindsModelsByName) {
  auto pool = make_pool({model_spec("b", {1}), model_spec("a", {1})});
  EXPECT_EQ(pool->find_model("a"), 1u);
  EXPECT_EQ(pool->find_model("b"), 0u);
  EXPECT_FALSE(pool->find_model("c").has_value());
  EXPECT_EQ(pool->model(1).name, "a");
}

TEST(PoolSelection, KeySharesFollowWeights3To2OverTheRunAndEveryWindowOf100) {
  auto pool = make_pool({model_spec("m", {3, 2})});
  expect_shares(pick_and_settle(*pool, 10000), {{0, 0.6}, {1, 0.4}});
}

TEST(PoolSelection, KeySharesFollowWeightsWithThreeKeys) {
  auto pool = make_pool({model_spec("m", {5, 3, 2})});
  expect_shares(pick_and_settle(*pool, 10000), {{0, 0.5}, {1, 0.3}, {2, 0.2}});
}

TEST(PoolSelection, ModelSharesFollowModelWeight) {
  auto a = model_spec("a", {1, 1});
  a.weight = 3;
  auto b = model_spec("b", {1});
  b.weight = 2;
  auto pool = make_pool({a, b});
  const auto picks = pick_and_settle(*pool, 10000);
  std::vector<int> models;
  for (int p : picks) models.push_back(p / 100);
  expect_shares(models, {{0, 0.6}, {1, 0.4}});
  expect_shares(picks, {{0, 0.3}, {1, 0.3}, {100, 0.4}});
}

TEST(PoolSelection, AKeyAtItsLimitIsNeverPickedAndFreeKeysTakeTheTraffic) {
  auto pool = make_pool({model_spec("m", {3, 1, 1}, "concurrency", 2)});
  const Demand demand;
  auto held1 = pool->try_acquire({0, 0}, demand, at(0));
  auto held2 = pool->try_acquire({0, 0}, demand, at(0));
  ASSERT_TRUE(held1 && held2);
  EXPECT_FALSE(pool->try_acquire({0, 0}, demand, at(0)));
  const auto picks = pick_and_settle(*pool, 1000);
  EXPECT_EQ(std::count(picks.begin(), picks.end(), 0), 0);
  expect_shares(picks, {{1, 0.5}, {2, 0.5}});
  Rng rng(1);
  for (const Target& t : pool->candidates(demand, at(1), rng)) EXPECT_NE(t.key, 0u);
}

TEST(PoolSelection, ACoolingKeyIsNeverPickedUntilTheCooldownEnds) {
  auto pool = make_pool({model_spec("m", {1, 1})});
  auto lease = pool->try_acquire({0, 0}, {}, at(0));
  ASSERT_TRUE(lease);
  Outcome limited;
  limited.action = KeyAction::kCooldown;
  limited.cooldown = milliseconds(2000);
  lease->settle(limited, at(0));
  EXPECT_FALSE(pool->try_acquire({0, 0}, {}, at(1.999)));
  const auto during = pick_and_settle(*pool, 1999, {}, 0);  // t in [0, 1.999)
  EXPECT_EQ(std::count(during.begin(), during.end(), 0), 0);
  const auto after = pick_and_settle(*pool, 1000, {}, 2.0);
  expect_shares(after, {{0, 0.5}, {1, 0.5}});
}

TEST(PoolSelection, ADisabledKeyIsNeverPickedUntilEnabled) {
  auto pool = make_pool({model_spec("m", {1, 1})});
  auto lease = pool->try_acquire({0, 1}, {}, at(0));
  Outcome revoked;
  revoked.action = KeyAction::kDisable;
  lease->settle(revoked, at(0));
  const auto picks = pick_and_settle(*pool, 500, {}, 1000);
  EXPECT_EQ(std::count(picks.begin(), picks.end(), 1), 0);
  EXPECT_FALSE(pool->try_acquire({0, 1}, {}, at(2000)));
  pool->set_disabled({0, 1}, false);
  EXPECT_TRUE(pool->try_acquire({0, 1}, {}, at(2000)));
}

TEST(PoolSelection, NoCandidateWhenEveryKeyIsFull) {
  auto pool = make_pool({model_spec("m", {1}, "concurrency", 1)});
  auto lease = pool->try_acquire({0, 0}, {}, at(0));
  ASSERT_TRUE(lease);
  Rng rng(1);
  EXPECT_TRUE(pool->candidates({}, at(0), rng).empty());
  EXPECT_FALSE(pool->next_available({}, at(0)).has_value());  // only a release helps
}

TEST(PoolSelection, FailoverOrderCoversEveryEligibleKeyOnceModelByModel) {
  auto a = model_spec("a", {3, 2, 1}, "concurrency", 1);
  auto b = model_spec("b", {1, 1}, "concurrency", 1);
  auto c = model_spec("c", {1, 4}, "concurrency", 1);
  auto pool = make_pool({a, b, c});
  auto busy = pool->try_acquire({0, 1}, {}, at(0));
  auto busy2 = pool->try_acquire({1, 0}, {}, at(0));
  ASSERT_TRUE(busy && busy2);
  Rng rng(9);
  for (int round = 0; round < 200; ++round) {
    const auto order = pool->candidates({}, at(0), rng);
    ASSERT_EQ(order.size(), 5u);  // 7 keys, 2 busy
    std::set<std::pair<std::uint32_t, std::uint32_t>> seen;
    for (const Target& t : order) {
      EXPECT_TRUE(seen.insert({t.model, t.key}).second) << "twice: " << t.model << "/" << t.key;
      EXPECT_FALSE(t.model == 0 && t.key == 1);
      EXPECT_FALSE(t.model == 1 && t.key == 0);
    }
    // Each model's keys come together: the first pick's model first, then the others.
    std::vector<std::uint32_t> blocks;
    for (const Target& t : order) {
      if (blocks.empty() || blocks.back() != t.model) blocks.push_back(t.model);
    }
    EXPECT_EQ(blocks.size(), 3u);
  }
}

TEST(PoolSelection, MaxCandidatesCutsTheList) {
  auto pool = make_pool({model_spec("a", {1, 1, 1}), model_spec("b", {1, 1})});
  Rng rng(1);
  Demand demand;
  demand.max_candidates = 4;
  const auto order = pool->candidates(demand, at(0), rng);
  ASSERT_EQ(order.size(), 4u);
  demand.max_candidates = 0;
  EXPECT_EQ(pool->candidates(demand, at(0), rng).size(), 5u);
}

TEST(PoolSelection, ANamedModelKeepsTheRequestOnItsKeys) {
  auto pool = make_pool({model_spec("a", {1, 1}), model_spec("b", {1, 1, 1})});
  Demand demand;
  demand.model = 1;
  Rng rng(1);
  for (int i = 0; i < 50; ++i) {
    const auto order = pool->candidates(demand, at(0), rng);
    ASSERT_EQ(order.size(), 3u);
    for (const Target& t : order) EXPECT_EQ(t.model, 1u);
  }
}

TEST(PoolSelection, ToolsOnlyGoToModelsThatSupportThem) {
  auto plain = model_spec("plain", {1});
  auto tools = model_spec("tools", {1});
  tools.supports_tools = true;
  auto pool = make_pool({plain, tools});
  Demand demand;
  demand.needs_tools = true;
  Rng rng(1);
  for (int i = 0; i < 50; ++i) {
    const auto order = pool->candidates(demand, at(0), rng);
    ASSERT_EQ(order.size(), 1u);
    EXPECT_EQ(order.front().model, 1u);
  }
  EXPECT_FALSE(pool->try_acquire({0, 0}, demand, at(0)));
}

TEST(PoolSelection, AModelOfWeightZeroServesOnlyRequestsNamingIt) {
  auto hidden = model_spec("hidden", {1});
  hidden.weight = 0;
  auto pool = make_pool({model_spec("a", {1}), hidden});
  const auto picks = pick_and_settle(*pool, 200);
  EXPECT_EQ(std::count(picks.begin(), picks.end(), 100), 0);
  Demand named;
  named.model = 1;
  Rng rng(1);
  ASSERT_EQ(pool->candidates(named, at(0), rng).size(), 1u);
}

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
