#include "usage/budget.h"

#include <gtest/gtest.h>

namespace bc::usage {
namespace {

constexpr std::int64_t kH = 3'600'000;
constexpr std::int64_t kJan31 = 1'738'281'600'000;  // 2025-01-31T00:00:00Z

TEST(Budget, TheRequestPastRequestsPerDayIsRefusedWithTheDaysEnd) {
  Budget b({.requests_per_day = 2});
  EXPECT_FALSE(b.take(kJan31 + kH, 0));
  EXPECT_FALSE(b.take(kJan31 + kH, 0));
  const auto refused = b.take(kJan31 + 2 * kH, 0);
  ASSERT_TRUE(refused);
  EXPECT_EQ(refused->budget, "requests_per_day");
  EXPECT_EQ(refused->resets_at_ms, kJan31 + 24 * kH);
  // The next UTC day starts afresh.
  EXPECT_FALSE(b.take(kJan31 + 24 * kH, 0));
}

TEST(Budget, TheRequestThatWouldCrossTokensPerDayIsRefused) {
  Budget b({.tokens_per_day = 100});
  EXPECT_FALSE(b.take(kJan31, 60));
  // 60 reserved and still running: 50 more would cross 100.
  EXPECT_TRUE(b.take(kJan31, 50));
  b.settle(kJan31, 60, 20);  // it used 20
  EXPECT_FALSE(b.take(kJan31, 50));
  EXPECT_EQ(b.use(kJan31).tokens_today, 70);
  EXPECT_EQ(b.use(kJan31).requests_today, 2);
}

TEST(Budget, AGivenBackRequestCountsNothing) {
  // Refused by the budgets shared with other instances after this one took it.
  Budget b({.requests_per_day = 1, .tokens_per_month = 100});
  EXPECT_FALSE(b.take(kJan31 + kH, 40));
  b.give_back(kJan31 + kH, 40);
  EXPECT_EQ(b.use(kJan31 + kH).requests_today, 0);
  EXPECT_EQ(b.use(kJan31 + kH).tokens_this_month, 0);
  EXPECT_FALSE(b.take(kJan31 + kH, 100));
  // Taken in a month that ended: nothing of this one is given back.
  b.give_back(kJan31 - 31 * 24 * kH, 10);
  EXPECT_EQ(b.use(kJan31 + kH).tokens_this_month, 100);
}

TEST(Budget, MonthsEndOnTheFirstUtc) {
  Budget b({.tokens_per_month = 10});
  EXPECT_FALSE(b.take(kJan31, 10));
  const auto refused = b.take(kJan31 + 5 * kH, 1);
  ASSERT_TRUE(refused);
  EXPECT_EQ(refused->budget, "tokens_per_month");
  EXPECT_EQ(refused->resets_at_ms, kJan31 + 24 * kH);  // 2025-02-01T00:00Z
  EXPECT_FALSE(b.take(kJan31 + 24 * kH, 1));
}

TEST(Budget, SeedingKeepsTheLargerCountAndASettleAfterTheDayEndedIsDropped) {
  Budget b({.tokens_per_day = 100});
  b.seed(kJan31 + kH, {.requests_today = 3, .tokens_today = 90, .tokens_this_month = 500});
  EXPECT_TRUE(b.take(kJan31 + kH, 20));
  EXPECT_FALSE(b.take(kJan31 + kH, 10));
  EXPECT_EQ(b.use(kJan31 + 25 * kH).tokens_today, 0);
  b.settle(kJan31 + kH, 10, 1000);  // yesterday's request: not today's tokens
  EXPECT_EQ(b.use(kJan31 + 25 * kH).tokens_today, 0);
}

}  // namespace
}  // namespace bc::usage
