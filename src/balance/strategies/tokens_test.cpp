#include <gtest/gtest.h>

#include "balance/capacity.h"
#include "balance/strategy.h"
#include "balance/test_support.h"

namespace bc::balance {
namespace {

using testing::at;
using testing::make_pool;
using testing::model_spec;

ModelSpec tokens_spec(std::int64_t rpm, std::int64_t tpm) {
  auto spec = model_spec("m", {1}, "tokens");
  spec.rpm = rpm;
  spec.tpm = tpm;
  return spec;
}

Demand needs(std::int64_t tokens) {
  Demand demand;
  demand.estimated_tokens = tokens;
  return demand;
}

Outcome used(std::int64_t prompt, std::int64_t completion) {
  Outcome outcome = testing::ok_outcome();
  outcome.usage = Usage{prompt, completion, prompt + completion};
  return outcome;
}

TEST(TokensStrategy, NeedsRpmOrTpm) {
  auto pool = Pool::create({tokens_spec(0, 0)});
  ASSERT_FALSE(pool.ok());
  EXPECT_NE(pool.error().message.find("rpm or tpm"), std::string::npos);
}

TEST(TokensStrategy, AdmissionReservesTheEstimate) {
  auto pool = make_pool({tokens_spec(0, 1000)});
  EXPECT_EQ(pool->strategy(0).capacity(), Capacity::kTokens);
  auto a = pool->try_acquire({0, 0}, needs(600), at(0));
  ASSERT_TRUE(a);
  EXPECT_EQ(pool->load({0, 0}).tpm_used(at(1)), 600);
  Rng rng(1);
  EXPECT_TRUE(pool->candidates(needs(500), at(1), rng).empty());  // 600 + 500 > 1000
  EXPECT_FALSE(pool->try_acquire({0, 0}, needs(500), at(1)));
  EXPECT_TRUE(pool->try_acquire({0, 0}, needs(400), at(1)));  // 600 + 400 fits
}

TEST(TokensStrategy, SettlingReplacesTheEstimateWithRealUsage) {
  auto pool = make_pool({tokens_spec(0, 1000)});
  auto a = pool->try_acquire({0, 0}, needs(900), at(0));
  ASSERT_TRUE(a);
  EXPECT_FALSE(pool->try_acquire({0, 0}, needs(500), at(1)));
  a->settle(used(100, 50), at(2));  // the answer was short
  EXPECT_EQ(pool->load({0, 0}).tpm_used(at(2)), 150);
  auto b = pool->try_acquire({0, 0}, needs(500), at(3));
  ASSERT_TRUE(b);
  b->settle(used(400, 500), at(4));  // and this one longer than estimated
  EXPECT_EQ(pool->load({0, 0}).tpm_used(at(4)), 1050);
  EXPECT_FALSE(pool->try_acquire({0, 0}, needs(1), at(5)));
  // A minute after they were counted, the tokens leave the window.
  EXPECT_TRUE(pool->try_acquire({0, 0}, needs(900), at(64)));
}

TEST(TokensStrategy, AnUnsettledLeaseKeepsItsReservation) {
  auto pool = make_pool({tokens_spec(0, 1000)});
  { auto a = pool->try_acquire({0, 0}, needs(700), at(0)); }
  EXPECT_EQ(pool->load({0, 0}).tpm_used(at(1)), 700);
}

TEST(TokensStrategy, RequestsPerMinuteAreCountedAtStart) {
  auto pool = make_pool({tokens_spec(3, 0)});
  for (int i = 0; i < 3; ++i) {
    auto lease = pool->try_acquire({0, 0}, needs(10), at(i));
    ASSERT_TRUE(lease);
    lease->settle(used(5, 5), at(i));
  }
  EXPECT_FALSE(pool->try_acquire({0, 0}, needs(10), at(30)));
  EXPECT_EQ(model_report(*pool, 0, at(30)).current, 3);  // reported as requests of rpm
  EXPECT_TRUE(pool->try_acquire({0, 0}, needs(10), at(61)));
}

TEST(TokensStrategy, ARequestLargerThanTpmRunsAloneOnAnEmptyWindow) {
  auto pool = make_pool({tokens_spec(0, 1000)});
  auto big = pool->try_acquire({0, 0}, needs(5000), at(0));
  ASSERT_TRUE(big);
  EXPECT_FALSE(pool->try_acquire({0, 0}, needs(1), at(1)));
}

}  // namespace
}  // namespace bc::balance
