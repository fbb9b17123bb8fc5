#include <gtest/gtest.h>

#include "balance/strategy.h"
#include "balance/test_support.h"

namespace bc::balance {
namespace {

using std::chrono::milliseconds;
using testing::at;
using testing::make_pool;
using testing::model_spec;
using testing::ok_outcome;

void teach(Pool& pool, Target target, milliseconds latency, double t) {
  pool.try_acquire(target, {}, at(t))->settle(ok_outcome(latency), at(t));
}

TEST(ResponseTimeStrategy, AFasterKeyGetsMoreTraffic) {
  auto pool = make_pool({model_spec("m", {1, 1}, "response_time", 10)});
  teach(*pool, {0, 0}, milliseconds(299), 0);
  teach(*pool, {0, 1}, milliseconds(99), 0);
  // 1 / (ms + 1): 1/300 against 1/100.
  EXPECT_NEAR(pool->effective_weight({0, 1}, {}, at(0)) / pool->effective_weight({0, 0}, {}, at(0)),
              3.0, 1e-6);
  Rng rng(1);
  int fast = 0;
  for (int i = 0; i < 4000; ++i) {
    fast += pool->candidates({}, at(1), rng).front().key == 1 ? 1 : 0;
  }
  EXPECT_NEAR(fast / 4000.0, 0.75, 0.02);
}

TEST(ResponseTimeStrategy, RequestsInFlightMultiplyTheLatency) {
  auto pool = make_pool({model_spec("m", {1, 1}, "response_time", 10)});
  teach(*pool, {0, 0}, milliseconds(99), 0);
  teach(*pool, {0, 1}, milliseconds(99), 0);
  std::vector<Lease> held;
  for (int i = 0; i < 3; ++i) held.push_back(std::move(*pool->try_acquire({0, 0}, {}, at(0))));
  EXPECT_NEAR(pool->effective_weight({0, 1}, {}, at(0)) / pool->effective_weight({0, 0}, {}, at(0)),
              4.0, 1e-6);
}

TEST(ResponseTimeStrategy, AnUnmeasuredKeyIsTriedFirst) {
  auto pool = make_pool({model_spec("m", {1, 1}, "response_time", 10)});
  teach(*pool, {0, 0}, milliseconds(200), 0);
  EXPECT_GT(pool->effective_weight({0, 1}, {}, at(0)),
            100 * pool->effective_weight({0, 0}, {}, at(0)));
}

TEST(ResponseTimeStrategy, AKeyThatGotFastRecoversItsShare) {
  auto spec = model_spec("m", {1, 1}, "response_time", 10);
  spec.decay_factor = 0.5;
  auto pool = make_pool({spec});
  teach(*pool, {0, 0}, milliseconds(999), 0);
  teach(*pool, {0, 1}, milliseconds(99), 0);
  for (int i = 0; i < 10; ++i) teach(*pool, {0, 0}, milliseconds(99), 1 + i);
  EXPECT_NEAR(
      pool->effective_weight({0, 1}, {}, at(20)) / pool->effective_weight({0, 0}, {}, at(20)), 1.0,
      0.01);
}

TEST(ResponseTimeStrategy, StaysUnderTheConcurrencyCap) {
  auto pool = make_pool({model_spec("m", {1}, "response_time", 2)});
  auto a = pool->try_acquire({0, 0}, {}, at(0));
  auto b = pool->try_acquire({0, 0}, {}, at(0));
  ASSERT_TRUE(a && b);
  EXPECT_FALSE(pool->try_acquire({0, 0}, {}, at(0)));
  Rng rng(1);
  EXPECT_TRUE(pool->candidates({}, at(0), rng).empty());
}

}  // namespace
}  // namespace bc::balance
