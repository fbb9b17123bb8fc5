#include <gtest/gtest.h>

#include "balance/strategy.h"
#include "balance/test_support.h"

namespace bc::balance {
namespace {

using testing::at;
using testing::make_pool;
using testing::model_spec;

TEST(LeastRequestStrategy, WeightFallsWithRequestsInFlight) {
  auto pool = make_pool({model_spec("m", {1, 1}, "least_request")});
  std::vector<Lease> held;
  for (int i = 0; i < 3; ++i) held.push_back(std::move(*pool->try_acquire({0, 0}, {}, at(0))));
  EXPECT_DOUBLE_EQ(pool->effective_weight({0, 0}, {}, at(0)), 1.0 / 4);
  EXPECT_DOUBLE_EQ(pool->effective_weight({0, 1}, {}, at(0)), 1.0);
}

TEST(LeastRequestStrategy, AKeyHoldingRequestsLongerGetsFewerNewOnes) {
  // Key 0 answers in 4 picks, key 1 at once: key 0 carries in-flight requests and so loses
  // share to key 1, though both weigh the same.
  auto pool = make_pool({model_spec("m", {1, 1}, "least_request")});
  Rng rng(1);
  std::vector<Lease> slow;
  int slow_picks = 0;
  for (int i = 0; i < 2000; ++i) {
    const Target t = pool->candidates({}, at(0), rng).front();
    auto lease = pool->try_acquire(t, {}, at(0));
    ASSERT_TRUE(lease);
    if (t.key == 0) {
      ++slow_picks;
      slow.push_back(std::move(*lease));
      if (slow.size() > 4) slow.erase(slow.begin());
    }
  }
  EXPECT_LT(slow_picks, 2000 * 0.3);
}

}  // namespace
}  // namespace bc::balance
