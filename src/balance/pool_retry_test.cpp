// A retry's pick (Demand::tried, Demand::closed_models): the targets a request already tried
// and the models closed to it are never offered, so a retry asks for three candidates as a
// first attempt does, in a model of 4 keys (the exact scan) and of 1,000 (the index), and
// still finds the keys left, heaviest models first.
#include <algorithm>
#include <set>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "balance/pool.h"
#include "balance/test_support.h"

namespace bc::balance {
namespace {

using testing::at;
using testing::make_pool;
using testing::model_spec;

ModelSpec many_keys(std::string name, std::size_t n) {
  ModelSpec spec;
  spec.name = name;
  spec.strategy = "concurrency";
  for (std::size_t k = 0; k < n; ++k) {
    const std::string id = name + "-k" + std::to_string(k);
    spec.keys.push_back({"secret-" + id, id, 1.0 + static_cast<double>(k % 3)});
  }
  return spec;
}

bool contains(const std::vector<Target>& v, Target t) {
  return std::find(v.begin(), v.end(), t) != v.end();
}

TEST(PoolRetry, TriedKeysOfASmallModelAreLeftOut) {
  auto pool = make_pool({model_spec("m", {5, 1, 1, 1})});
  ASSERT_TRUE(pool);
  Rng rng(7);
  const std::vector<Target> tried = {{0, 0}, {0, 2}};
  Demand demand;
  demand.max_candidates = 3;
  demand.tried = tried;
  for (int i = 0; i < 200; ++i) {
    const auto c = pool->candidates(demand, at(1), rng);
    ASSERT_EQ(c.size(), 2u);
    EXPECT_TRUE(contains(c, {0, 1}) && contains(c, {0, 3}));
  }
  const std::vector<Target> all = {{0, 0}, {0, 1}, {0, 2}, {0, 3}};
  demand.tried = all;
  EXPECT_TRUE(pool->candidates(demand, at(1), rng).empty());
}

// 1,000 keys, ten of them tried, which hold nine tenths of the weight (as the heaviest keys
// are the likeliest to be tried first). Three candidates, none of them tried, all distinct,
// over many picks; and the untried keys all come up.
TEST(PoolRetry, TriedKeysOfAnIndexedModelAreLeftOutWithThreeCandidates) {
  auto spec = many_keys("big", 1000);
  std::vector<Target> tried;
  for (std::uint32_t k = 0; k < 10; ++k) {
    spec.keys[k].weight = 1000;
    tried.push_back({0, k});
  }
  auto pool = make_pool({spec});
  ASSERT_TRUE(pool);
  Rng rng(11);
  Demand demand;
  demand.max_candidates = 3;
  demand.tried = tried;
  std::set<std::uint32_t> seen;
  for (int i = 0; i < 5000; ++i) {
    const auto c = pool->candidates(demand, at(1), rng);
    ASSERT_EQ(c.size(), 3u);
    for (const Target& t : c) {
      ASSERT_GE(t.key, 10u) << "a tried key was offered";
      seen.insert(t.key);
    }
    ASSERT_NE(c[0], c[1]);
    ASSERT_NE(c[1], c[2]);
    ASSERT_NE(c[0], c[2]);
  }
  EXPECT_GT(seen.size(), 900u);
}

// A closed model is never offered; the remaining models come in order of weight, the heavier
// first most of the time.
TEST(PoolRetry, ClosedModelsAreLeftOut) {
  auto heavy = model_spec("heavy", {1, 1});
  heavy.weight = 5;
  auto light = model_spec("light", {1, 1});
  light.weight = 1;
  auto closed = model_spec("closed", {1, 1});
  closed.weight = 100;
  auto pool = make_pool({heavy, light, closed});
  ASSERT_TRUE(pool);
  Rng rng(3);
  const std::vector<std::uint32_t> closed_models = {2};
  Demand demand;
  demand.max_candidates = 3;
  demand.closed_models = closed_models;
  int heavy_first = 0;
  for (int i = 0; i < 600; ++i) {
    const auto c = pool->candidates(demand, at(1), rng);
    ASSERT_EQ(c.size(), 3u);
    for (const Target& t : c) ASSERT_NE(t.model, 2u);
    heavy_first += c.front().model == 0 ? 1 : 0;
  }
  EXPECT_NEAR(heavy_first / 600.0, 5.0 / 6.0, 0.05);

  // With the heavy model's keys tried too, only the light one's remain.
  const std::vector<Target> tried = {{0, 0}, {0, 1}};
  demand.tried = tried;
  const auto c = pool->candidates(demand, at(1), rng);
  ASSERT_EQ(c.size(), 2u);
  EXPECT_EQ(c[0].model, 1u);
  EXPECT_EQ(c[1].model, 1u);
}

}  // namespace
}  // namespace bc::balance
