#include "balance/rate_window.h"

#include <deque>

#include <gtest/gtest.h>

#include "balance/test_support.h"

namespace bc::balance {
namespace {

using std::chrono::seconds;
using testing::at;

TEST(RateWindow, UnlimitedFitsEverything) {
  RateWindow w;
  EXPECT_FALSE(w.limited());
  EXPECT_TRUE(w.fits(1'000'000, at(0)));
}

TEST(RateWindow, AdmitsUpToLimitThenRefusesUntilOldestBucketLeaves) {
  RateWindow w(3, seconds(1), 100);
  for (int i = 0; i < 3; ++i) {
    ASSERT_TRUE(w.fits(1, at(0.001 * i)));
    w.add(1, at(0.001 * i));
  }
  EXPECT_FALSE(w.fits(1, at(0.5)));
  EXPECT_FALSE(w.fits(1, at(0.999)));
  // The bucket [0, 10 ms) stops counting once all of it is more than 1 s old.
  EXPECT_FALSE(w.fits(1, at(1.005)));
  EXPECT_TRUE(w.fits(1, at(1.010)));
  EXPECT_EQ(w.used(at(1.010)), 0);
}

TEST(RateWindow, NoWindowOfTheSpanEverHoldsMoreThanTheLimit) {
  RateWindow w(5, seconds(1), 100);
  Rng rng(7);
  std::vector<double> admitted;
  double t = 0;
  for (int i = 0; i < 20000; ++i) {
    t += rng.uniform() * 0.05;
    if (w.fits(1, at(t))) {
      w.add(1, at(t));
      admitted.push_back(t);
    }
  }
  ASSERT_GT(admitted.size(), 1000u);
  // Every window [admitted[i], admitted[i] + 1 s] (the worst placements) holds at most 5.
  std::size_t j = 0;
  for (std::size_t i = 0; i < admitted.size(); ++i) {
    while (j < admitted.size() && admitted[j] <= admitted[i] + 1.0) ++j;
    ASSERT_LE(j - i, 5u) << "window starting at " << admitted[i];
  }
  // And the window is used: about 5 per 1.01 s over the run.
  EXPECT_GT(static_cast<double>(admitted.size()), 0.95 * 5 * t / 1.01);
}

TEST(RateWindow, AdjustReplacesAReservationWithTheRealAmount) {
  RateWindow w(100, seconds(60), 60);
  const auto bucket = w.add(80, at(1));
  EXPECT_FALSE(w.fits(30, at(2)));
  w.adjust(bucket, 10 - 80, at(2));  // the request used 10, not 80
  EXPECT_EQ(w.used(at(2)), 10);
  EXPECT_TRUE(w.fits(90, at(2)));
  w.adjust(bucket, 50, at(3));  // and more than estimated counts too
  EXPECT_EQ(w.used(at(3)), 60);
}

TEST(RateWindow, AdjustAfterTheBucketLeftCountsAnOverrunNow) {
  RateWindow w(100, seconds(60), 60);
  const auto bucket = w.add(10, at(0));
  w.adjust(bucket, 30, at(120));
  EXPECT_EQ(w.used(at(120)), 30);
  w.adjust(bucket, -30, at(121));  // an underrun on a bucket gone has nothing to return
  EXPECT_EQ(w.used(at(121)), 30);
}

TEST(RateWindow, NextChangeIsWhenTheOldestCountedBucketLeaves) {
  RateWindow w(10, seconds(1), 100);
  EXPECT_FALSE(w.next_change().has_value());
  w.add(1, at(0.205));
  w.add(1, at(0.5));
  EXPECT_EQ(w.next_change(), at(1.21));
  EXPECT_EQ(w.room(), 8);
  w.used(at(1.3));  // the first has left
  EXPECT_EQ(w.next_change(), at(1.51));
  w.used(at(2));
  EXPECT_FALSE(w.next_change().has_value());
}

TEST(RateWindow, NextFitIsWhenTheAmountFirstFits) {
  RateWindow w(2, seconds(1), 100);
  w.add(1, at(0.0));
  w.add(1, at(0.3));
  const auto next = w.next_fit(1, at(0.5));
  ASSERT_TRUE(next.has_value());
  EXPECT_NEAR(std::chrono::duration<double>(next->time_since_epoch()).count(), 1.01, 1e-9);
  EXPECT_FALSE(w.fits(1, *next - std::chrono::milliseconds(1)));
  EXPECT_TRUE(w.fits(1, *next));
  EXPECT_FALSE(w.next_fit(3, at(2)).has_value());  // more than the limit never fits
}

}  // namespace
}  // namespace bc::balance
