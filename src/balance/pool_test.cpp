// The pool's creation and selection: who is picked, in what shares and failover order.
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

}  // namespace
}  // namespace bc::balance
