#include <gtest/gtest.h>

#include "balance/strategy.h"
#include "balance/test_support.h"

namespace bc::balance {
namespace {

using testing::at;
using testing::make_pool;
using testing::model_spec;

TEST(ConcurrencyStrategy, KeepsConfiguredWeightsWhateverTheLoad) {
  auto pool = make_pool({model_spec("m", {2, 1}, "concurrency", 10)});
  std::vector<Lease> held;
  for (int i = 0; i < 9; ++i) held.push_back(std::move(*pool->try_acquire({0, 0}, {}, at(0))));
  const Strategy& strategy = pool->strategy(0);
  EXPECT_EQ(strategy.capacity(), Capacity::kConcurrency);
  EXPECT_EQ(strategy.weigh(pool->load({0, 0}), {}, at(0)), 1.0);
  EXPECT_DOUBLE_EQ(pool->effective_weight({0, 0}, {}, at(0)), 2.0);
}

TEST(ConcurrencyStrategy, AtMostMaxConcurrencyInFlightPerKey) {
  auto pool = make_pool({model_spec("m", {1}, "concurrency", 3)});
  std::vector<Lease> held;
  for (int i = 0; i < 3; ++i) {
    auto lease = pool->try_acquire({0, 0}, {}, at(0));
    ASSERT_TRUE(lease);
    held.push_back(std::move(*lease));
  }
  EXPECT_FALSE(pool->try_acquire({0, 0}, {}, at(0)));
  EXPECT_DOUBLE_EQ(pool->effective_weight({0, 0}, {}, at(0)), 0.0);
  held.pop_back();
  EXPECT_TRUE(pool->try_acquire({0, 0}, {}, at(0)));
}

TEST(ConcurrencyStrategy, ZeroMeansUnlimited) {
  auto pool = make_pool({model_spec("m", {1}, "concurrency", 0)});
  std::vector<Lease> held;
  for (int i = 0; i < 1000; ++i) {
    auto lease = pool->try_acquire({0, 0}, {}, at(0));
    ASSERT_TRUE(lease);
    held.push_back(std::move(*lease));
  }
}

}  // namespace
}  // namespace bc::balance
