// An operator's drain: a drained key takes no new request, the ones in flight settle as usual,
// and undraining brings it back; small models (scanned) and large ones (indexed) alike.
#include <algorithm>
#include <vector>

#include <gtest/gtest.h>

#include "balance/capacity.h"
#include "balance/key_load.h"
#include "balance/pool.h"
#include "balance/test_support.h"

namespace bc::balance {
namespace {

using testing::at;
using testing::make_pool;
using testing::model_spec;
using testing::ok_outcome;

// How often key `key` of model 0 comes first among the candidates in `n` picks.
int times_first(const Pool& pool, std::uint32_t key, int n, double t0) {
  Rng rng(7);
  int count = 0;
  for (int i = 0; i < n; ++i) {
    const auto c = pool.candidates({}, at(t0 + i * 0.001), rng);
    if (!c.empty() && c.front().key == key) ++count;
  }
  return count;
}

TEST(PoolDrain, ADrainedKeyTakesNoNewRequestAndItsLeaseSettles) {
  auto pool = make_pool({model_spec("m", {1, 1}, "concurrency", 4)});
  auto running = pool->try_acquire({0, 1}, {}, at(0));
  ASSERT_TRUE(running);
  pool->set_drained({0, 1}, true);

  EXPECT_EQ(times_first(*pool, 1, 300, 1), 0);
  Rng rng(1);
  for (const auto& t : pool->candidates({}, at(1), rng)) EXPECT_NE(t.key, 1u);
  EXPECT_FALSE(pool->try_acquire({0, 1}, {}, at(1)));
  // The request already running finishes and frees its slot.
  EXPECT_EQ(pool->in_flight({0, 1}), 1);
  running->settle(ok_outcome(), at(1));
  EXPECT_EQ(pool->in_flight({0, 1}), 0);
  EXPECT_EQ(model_report(*pool, 0, at(1)).keys[1].state, "drained");

  pool->set_drained({0, 1}, false);
  EXPECT_GT(times_first(*pool, 1, 300, 2), 100);
  EXPECT_TRUE(pool->try_acquire({0, 1}, {}, at(3)));
  EXPECT_EQ(model_report(*pool, 0, at(3)).keys[1].state, "ok");
}

TEST(PoolDrain, AModelWithEveryKeyDrainedHasNoCandidateAndNothingToWaitFor) {
  auto pool = make_pool({model_spec("m", {1, 1})});
  pool->set_drained({0, 0}, true);
  pool->set_drained({0, 1}, true);
  Rng rng(3);
  EXPECT_TRUE(pool->candidates({}, at(0), rng).empty());
  // A queue would wait in vain: only an operator brings a drained key back.
  EXPECT_FALSE(pool->next_available({}, at(0)));
}

TEST(PoolDrain, ALargeIndexedModelSkipsADrainedKeyToo) {
  std::vector<double> weights(300, 1.0);
  ModelSpec spec = model_spec("big", {});
  for (std::size_t k = 0; k < weights.size(); ++k) {
    const std::string id = "big-k" + std::to_string(k);
    spec.keys.push_back({"secret-" + id, id, 1.0});
  }
  spec.keys[5].weight = 1000;  // would be first almost always
  auto pool = make_pool({spec});
  EXPECT_GT(times_first(*pool, 5, 200, 0), 100);
  pool->set_drained({0, 5}, true);
  EXPECT_EQ(times_first(*pool, 5, 200, 1), 0);
  pool->set_drained({0, 5}, false);
  EXPECT_GT(times_first(*pool, 5, 200, 2), 100);
}

TEST(PoolDrain, ADrainSurvivesAReloadButAQuarantineDoesNot) {
  auto old = make_pool({model_spec("m", {1, 1}, "concurrency", 2)});
  old->set_drained({0, 0}, true);
  old->set_disabled({0, 1}, true);
  auto same = Pool::create({model_spec("m", {1, 1}, "concurrency", 2)}, old.get());
  ASSERT_TRUE(same.ok());
  EXPECT_TRUE(same.value()->load({0, 0}).drained());
  EXPECT_FALSE(same.value()->load({0, 1}).disabled());
  // New limits make a fresh key state; the drain is carried over to it.
  auto changed = Pool::create({model_spec("m", {1, 1}, "concurrency", 5)}, same.value().get());
  ASSERT_TRUE(changed.ok());
  EXPECT_NE(&changed.value()->load({0, 0}), &same.value()->load({0, 0}));
  EXPECT_TRUE(changed.value()->load({0, 0}).drained());
}

TEST(PoolDrain, FindKeyByModelAndPublicId) {
  auto pool = make_pool({model_spec("a", {1}), model_spec("b", {1, 1})});
  const auto found = pool->find_key("b", "b-k1");
  ASSERT_TRUE(found);
  EXPECT_EQ(found->model, 1u);
  EXPECT_EQ(found->key, 1u);
  EXPECT_FALSE(pool->find_key("b", "a-k0"));
  EXPECT_FALSE(pool->find_key("c", "b-k0"));
}

}  // namespace
}  // namespace bc::balance
