#include "balance/key_index.h"

#include <algorithm>
#include <atomic>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "balance/test_support.h"

namespace bc::balance {
namespace {

using testing::at;

// Draws at n evenly spread points and counts each key.
std::vector<int> counts(const KeyIndex& index, int n) {
  std::vector<int> c(index.size(), 0);
  for (int i = 0; i < n; ++i) {
    const auto k = index.draw((i + 0.5) / n);
    if (k) ++c[*k];
  }
  return c;
}

TEST(KeyIndex, DrawsFollowTheWeights) {
  const std::vector<double> weights{1, 2, 3, 4, 0.5};
  KeyIndex index(weights);
  const auto c = counts(index, 10500);
  EXPECT_EQ(c, (std::vector<int>{1000, 2000, 3000, 4000, 500}));
}

TEST(KeyIndex, AKeyTakenOutIsNeverDrawnUntilPutBack) {
  const std::vector<double> weights(7, 1.0);
  KeyIndex index(weights);
  EXPECT_TRUE(index.set(3, false));
  EXPECT_FALSE(index.set(3, false));  // already out
  EXPECT_FALSE(index.contains(3));
  auto c = counts(index, 6000);
  EXPECT_EQ(c[3], 0);
  for (std::size_t k = 0; k < 7; ++k) {
    if (k == 3) continue;
    EXPECT_EQ(c[k], 1000) << k;
  }
  EXPECT_TRUE(index.set(3, true));
  EXPECT_EQ(counts(index, 7000)[3], 1000);
}

TEST(KeyIndex, EmptyWhenEveryKeyIsOut) {
  const std::vector<double> weights{1, 1, 1};
  KeyIndex index(weights);
  for (std::size_t k = 0; k < 3; ++k) index.set(k, false);
  EXPECT_EQ(index.total(), 0u);
  EXPECT_FALSE(index.draw(0.5));
  index.set(1, true);
  EXPECT_EQ(index.draw(0.0), 1u);
  EXPECT_EQ(index.draw(0.999999), 1u);
}

TEST(KeyIndex, OneKeyAndTenThousandKeys) {
  const std::vector<double> one{2.5};
  KeyIndex single(one);
  EXPECT_EQ(single.draw(0.7), 0u);
  std::vector<double> many(10000);
  for (std::size_t k = 0; k < many.size(); ++k) many[k] = 1.0 + static_cast<double>(k % 3);
  KeyIndex index(many);
  const auto c = counts(index, 200000);
  // 20,000 units of weight: each unit gets 10 draws.
  for (std::size_t k = 0; k < many.size(); ++k) ASSERT_NEAR(c[k], 10 * many[k], 1) << k;
}

TEST(KeyIndex, ParkedKeysComeBackInTimeOrderOnce) {
  const std::vector<double> weights(4, 1.0);
  KeyIndex index(weights);
  index.park(0, at(3));
  index.park(1, at(1));
  index.park(2, at(2));
  index.park(2, at(5));  // later than it is parked for: dropped
  index.park(0, at(2));  // earlier: wins
  EXPECT_FALSE(index.any_due(at(0.5)));
  EXPECT_TRUE(index.any_due(at(1)));
  std::vector<std::size_t> due;
  index.take_due(at(1.5), due);
  EXPECT_EQ(due, (std::vector<std::size_t>{1}));
  due.clear();
  index.take_due(at(10), due);
  std::sort(due.begin(), due.end());
  EXPECT_EQ(due, (std::vector<std::size_t>{0, 2}));  // key 0 once, though parked twice
  EXPECT_FALSE(index.any_due(at(100)));
}

TEST(KeyIndex, ConcurrentChangesLeaveTheExactTotal) {
  std::vector<double> weights(1000, 1.0);
  KeyIndex index(weights);
  const std::uint64_t full = index.total();
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&index, t] {
      for (int i = 0; i < 20000; ++i) {
        const auto k = static_cast<std::size_t>((i * 7 + t * 13) % 1000);
        index.set(k, (i + t) % 2 == 0);
        (void)index.draw((i % 100) / 100.0);
      }
    });
  }
  for (auto& th : threads) th.join();
  for (std::size_t k = 0; k < 1000; ++k) index.set(k, true);
  EXPECT_EQ(index.total(), full);
}

}  // namespace
}  // namespace bc::balance
