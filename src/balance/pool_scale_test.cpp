// Selection in models of many keys, where picks go through the KeyIndex (more than kScanKeys
// keys): the same meaning as the exact scan of a small model (pool_test.cpp). Shares follow
// the weights, no key goes past a limit, a key that cannot serve is never offered and comes
// back when it can, and the failover order has no repeats.
#include <algorithm>
#include <array>
#include <atomic>
#include <set>
#include <string>
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
using testing::ok_outcome;

// n keys weighing 1, 2, 3, 1, 2, 3, ...
ModelSpec big_model(std::size_t n, std::string strategy = "concurrency", int max_concurrency = 0) {
  ModelSpec spec;
  spec.name = "big";
  spec.strategy = std::move(strategy);
  spec.max_concurrency = max_concurrency;
  for (std::size_t k = 0; k < n; ++k) {
    const std::string id = "k" + std::to_string(k);
    spec.keys.push_back({"secret-" + id, id, 1.0 + static_cast<double>(k % 3)});
  }
  return spec;
}

// Picks n times as the gateway does (three candidates, acquire the first, settle) and counts
// picks per key.
std::vector<int> pick_counts(Pool& pool, int n, double t0 = 0, Demand demand = {}) {
  Rng rng(42);
  demand.max_candidates = 3;
  std::vector<int> counts(pool.model(0).keys.size(), 0);
  for (int i = 0; i < n; ++i) {
    const TimePoint now = at(t0 + i * 1e-6);
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
    ++counts[candidates.front().key];
    lease->settle(ok_outcome(), now);
  }
  return counts;
}

// The share in points of each weight class (1, 2, 3) among the picks.
std::array<double, 3> class_shares(const std::vector<int>& counts) {
  std::array<double, 3> sums{};
  double total = 0;
  for (std::size_t k = 0; k < counts.size(); ++k) {
    sums[k % 3] += counts[k];
    total += counts[k];
  }
  for (double& s : sums) s = 100 * s / total;
  return sums;
}

TEST(PoolScale, SharesFollowWeightsAtTenThousandKeys) {
  auto pool = make_pool({big_model(10000)});
  // 20,000 units of weight; 10 picks per unit.
  const auto counts = pick_counts(*pool, 200000);
  const auto shares = class_shares(counts);
  EXPECT_NEAR(shares[0], 100.0 / 6, 2);
  EXPECT_NEAR(shares[1], 200.0 / 6, 2);
  EXPECT_NEAR(shares[2], 300.0 / 6, 2);
  // The low-discrepancy draw: every key within a pick or two of its weight's share.
  for (std::size_t k = 0; k < counts.size(); ++k) {
    ASSERT_NEAR(counts[k], 10.0 * (1 + static_cast<double>(k % 3)), 2) << "key " << k;
  }
}

TEST(PoolScale, SharesFollowWeightsAmongFreeKeysWhenSomeAreFull) {
  auto pool = make_pool({big_model(1000, "concurrency", 1)});
  std::vector<Lease> held;
  for (std::uint32_t k = 0; k < 1000; k += 2) {
    held.push_back(std::move(*pool->try_acquire({0, k}, {}, at(0))));
  }
  const auto counts = pick_counts(*pool, 100000, 1);
  for (std::size_t k = 0; k < counts.size(); k += 2) ASSERT_EQ(counts[k], 0) << "full key " << k;
  // Odd keys left: weights 2, 1, 3, 2, 1, 3, ... (k % 3 = 1, 0, 2): each class a third of 1,000
  // units... in proportion 1 : 2 : 3.
  const auto shares = class_shares(counts);
  EXPECT_NEAR(shares[0], 100.0 / 6, 2);
  EXPECT_NEAR(shares[1], 200.0 / 6, 2);
  EXPECT_NEAR(shares[2], 300.0 / 6, 2);
}

TEST(PoolScale, ACoolingKeyIsNeverOfferedUntilItsCooldownEnds) {
  auto pool = make_pool({big_model(1000)});
  for (std::uint32_t k = 0; k < 500; ++k) pool->cool_down({0, k}, at(2));
  Rng rng(1);
  Demand three;
  three.max_candidates = 3;
  for (int i = 0; i < 2000; ++i) {
    for (const Target& t : pool->candidates(three, at(i * 0.0005), rng)) ASSERT_GE(t.key, 500u);
  }
  // After the cooldown every key is back, each class at its share.
  const auto counts = pick_counts(*pool, 100000, 2.5);
  std::size_t unpicked = 0;
  for (std::size_t k = 0; k < 500; ++k) unpicked += counts[k] == 0 ? 1 : 0;
  EXPECT_EQ(unpicked, 0u);
  const auto shares = class_shares(counts);
  EXPECT_NEAR(shares[2], 50, 2);
}

TEST(PoolScale, ADisabledKeyIsNeverOfferedUntilEnabled) {
  auto pool = make_pool({big_model(100)});
  for (std::uint32_t k = 0; k < 100; ++k) {
    if (k == 7) continue;
    pool->set_disabled({0, k}, true);
  }
  Rng rng(1);
  for (int i = 0; i < 100; ++i) {
    const auto c = pool->candidates({}, at(1), rng);
    ASSERT_EQ(c.size(), 1u);
    EXPECT_EQ(c.front().key, 7u);
  }
  pool->set_disabled({0, 7}, true);
  EXPECT_TRUE(pool->candidates({}, at(1), rng).empty());
  pool->set_disabled({0, 50}, false);
  EXPECT_EQ(pool->candidates({}, at(1), rng).front().key, 50u);
}

TEST(PoolScale, AFullRateWindowParksTheKeyUntilItMakesRoom) {
  auto spec = big_model(100, "qps");
  spec.max_qps = 1;
  auto pool = make_pool({spec});
  Rng rng(3);
  std::set<std::uint32_t> used;
  // Each key takes one start a second: 100 picks in the first half second use every key once.
  for (int i = 0; i < 100; ++i) {
    const TimePoint now = at(i * 0.005);
    const auto c = pool->candidates({}, now, rng);
    ASSERT_FALSE(c.empty()) << i;
    ASSERT_TRUE(pool->try_acquire(c.front(), {}, now)) << i;
    EXPECT_TRUE(used.insert(c.front().key).second) << "key " << c.front().key << " twice";
  }
  Demand three;
  three.max_candidates = 3;
  EXPECT_TRUE(pool->candidates(three, at(0.6), rng).empty());
  const auto next = pool->next_available(three, at(0.6));
  ASSERT_TRUE(next);
  EXPECT_GE(*next, at(1));  // the first start leaves the window (10 ms buckets)
  EXPECT_LE(*next, at(1.01));
  EXPECT_TRUE(pool->candidates(three, *next, rng).size() > 0);
  EXPECT_EQ(pool->candidates(three, at(1.6), rng).size(), 3u);  // every key made room
}

TEST(PoolScale, NextAvailableFromTheIndexIsWhenAKeyCanServe) {
  // Every key full: only a release brings one back, so there is no time to wait for.
  auto pool = make_pool({big_model(200, "concurrency", 1)});
  std::vector<Lease> leases;
  for (std::uint32_t k = 0; k < 200; ++k) {
    auto lease = pool->try_acquire({0, k}, {}, at(0));
    ASSERT_TRUE(lease) << k;
    leases.push_back(std::move(*lease));
  }
  EXPECT_FALSE(pool->next_available({}, at(0.1)));
  // A key that ends its request while cooling is free at the cooldown's end, not before.
  pool->cool_down({0, 10}, at(3));
  pool->cool_down({0, 11}, at(5));
  leases[11].settle(ok_outcome(), at(0.2));
  leases[10].settle(ok_outcome(), at(0.2));
  EXPECT_EQ(pool->next_available({}, at(0.3)), at(3));
  // A key that ends its request without a limit in the way is free now.
  leases[20].settle(ok_outcome(), at(0.4));
  EXPECT_EQ(pool->next_available({}, at(0.5)), at(0.5));
}

TEST(PoolScale, FailoverOrderHasNoRepeatsAndPutsHeavierFirst) {
  auto pool = make_pool({big_model(300)});
  Rng rng(9);
  Demand demand;
  demand.max_candidates = 3;
  std::array<int, 3> second_by_class{};
  for (int round = 0; round < 30000; ++round) {
    const auto order = pool->candidates(demand, at(1), rng);
    ASSERT_EQ(order.size(), 3u);
    std::set<std::uint32_t> seen;
    for (const Target& t : order) EXPECT_TRUE(seen.insert(t.key).second);
    ++second_by_class[order[1].key % 3];
  }
  // The second candidate is drawn by weight among the rest: 1 : 2 : 3.
  EXPECT_NEAR(second_by_class[0] / 300.0, 100.0 / 6, 2);
  EXPECT_NEAR(second_by_class[2] / 300.0, 50, 2);
  // Every candidate, when asked for all: each key once.
  demand.max_candidates = 0;
  const auto all = pool->candidates(demand, at(1), rng);
  EXPECT_EQ(all.size(), 300u);
  std::set<std::uint32_t> keys;
  for (const Target& t : all) keys.insert(t.key);
  EXPECT_EQ(keys.size(), 300u);
}

TEST(PoolScale, ADemandThatFitsFewKeysFindsThem) {
  auto spec = big_model(1000, "tokens");
  spec.tpm = 1000;
  auto pool = make_pool({spec});
  Demand big;
  big.estimated_tokens = 900;
  // Every key but one has used most of its minute.
  for (std::uint32_t k = 0; k < 1000; ++k) {
    if (k == 321) continue;
    ASSERT_TRUE(pool->try_acquire({0, k}, big, at(0)));
  }
  Rng rng(1);
  const auto c = pool->candidates(big, at(1), rng);
  ASSERT_EQ(c.size(), 1u);
  EXPECT_EQ(c.front().key, 321u);
  Demand small;
  small.estimated_tokens = 50;
  small.max_candidates = 3;
  EXPECT_EQ(pool->candidates(small, at(1), rng).size(), 3u);
}

TEST(PoolScale, LeastRequestSendsLessToAKeyWithRequestsInFlight) {
  ModelSpec spec;
  spec.name = "lr";
  spec.strategy = "least_request";
  for (int k = 0; k < 100; ++k)
    spec.keys.push_back({"s" + std::to_string(k), std::to_string(k), 1});
  auto pool = make_pool({spec});
  std::vector<Lease> busy;
  for (std::uint32_t k = 0; k < 50; ++k) {
    for (int i = 0; i < 3; ++i) busy.push_back(std::move(*pool->try_acquire({0, k}, {}, at(0))));
  }
  const auto counts = pick_counts(*pool, 40000, 1);
  int to_busy = 0;
  for (std::size_t k = 0; k < 50; ++k) to_busy += counts[k];
  // Weighed alone a busy key would get a quarter of an idle one's share (1/4 against 1, 20 %
  // of picks); chosen among four drawn keys it gets clearly less than half.
  EXPECT_LT(to_busy, 40000 * 0.35);
  EXPECT_GT(to_busy, 40000 * 0.1);
}

TEST(PoolScale, ManyThreadsNeverTakeAKeyPastMaxConcurrency) {
  constexpr int kMax = 1;
  constexpr std::size_t kKeys = 64;
  auto pool = make_pool({big_model(kKeys, "concurrency", kMax)});
  std::array<std::atomic<int>, kKeys> held{};
  std::atomic<int> over{0};
  std::atomic<int> acquired{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&, t] {
      Rng rng(static_cast<std::uint64_t>(t) + 1);
      std::vector<Lease> mine;
      for (int i = 0; i < 20000; ++i) {
        const TimePoint now = at(i * 1e-4);
        if (mine.size() > 6 || (!mine.empty() && rng.next() % 2 == 0)) {
          const std::size_t j = rng.next() % mine.size();
          held[mine[j].target().key].fetch_sub(1);
          if (rng.next() % 4 != 0) mine[j].settle(ok_outcome(), now);
          mine.erase(mine.begin() + static_cast<std::ptrdiff_t>(j));
          continue;
        }
        Demand demand;
        demand.max_candidates = 3;
        for (const Target& target : pool->candidates(demand, now, rng)) {
          auto lease = pool->try_acquire(target, demand, now);
          if (!lease) continue;
          if (held[target.key].fetch_add(1) + 1 > kMax) over.fetch_add(1);
          acquired.fetch_add(1);
          mine.push_back(std::move(*lease));
          break;
        }
      }
      for (Lease& lease : mine) held[lease.target().key].fetch_sub(1);
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(over.load(), 0);
  EXPECT_GT(acquired.load(), 10000);
  // Every key free again and back in the index: a pick for every key's worth of weight finds
  // each of them.
  const auto counts = pick_counts(*pool, 12800, 10);
  for (std::size_t k = 0; k < kKeys; ++k) EXPECT_GT(counts[k], 0) << "key " << k;
}

TEST(PoolScale, AKeyFreedThroughTheOldPoolAfterAReloadComesBackInTheNew) {
  auto old = make_pool({big_model(100, "concurrency", 1)});
  std::vector<Lease> running;
  for (std::uint32_t k = 0; k < 100; ++k)
    running.push_back(std::move(*old->try_acquire({0, k}, {}, at(0))));
  auto created = Pool::create({big_model(100, "concurrency", 1)}, old.get());
  ASSERT_TRUE(created.ok());
  auto next = std::move(created).value();
  Rng rng(1);
  EXPECT_TRUE(next->candidates({}, at(1), rng).empty());  // every key busy with old requests
  running[42].settle(ok_outcome(), at(1));
  const auto c = next->candidates({}, at(1), rng);
  ASSERT_EQ(c.size(), 1u);
  EXPECT_EQ(c.front().key, 42u);
  running.clear();  // the old requests end (unsettled), then the old pool goes
  old.reset();
  Demand three;
  three.max_candidates = 3;
  EXPECT_EQ(next->candidates(three, at(2), rng).size(), 3u);
  EXPECT_TRUE(next->try_acquire({0, 7}, {}, at(2)));
}

}  // namespace
}  // namespace bc::balance
