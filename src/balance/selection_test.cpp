#include "balance/selection.h"

#include <algorithm>
#include <vector>

#include <gtest/gtest.h>

namespace bc::balance {
namespace {

TEST(Selection, PickNeverReturnsAZeroWeight) {
  const std::vector<double> weights{0, 2, 0, 1, 0};
  for (double u : {0.0, 0.1, 0.5, 0.66, 0.67, 0.999999, 1.0}) {
    const std::size_t i = pick(weights, u);
    EXPECT_TRUE(i == 1 || i == 3) << u;
  }
}

TEST(Selection, SequenceSpreadsEveryRunOfDrawsEvenly) {
  // Draws landing in [0, 0.6) over every run of 100 consecutive draws, anywhere in the
  // sequence, stay within 2 of 60.
  Sequence sequence;
  std::vector<int> hits;
  for (int i = 0; i < 20000; ++i) hits.push_back(sequence.next() < 0.6 ? 1 : 0);
  int in_window = 0;
  for (int i = 0; i < 100; ++i) in_window += hits[i];
  for (std::size_t i = 100; i <= hits.size(); ++i) {
    ASSERT_NEAR(in_window, 60, 2) << "window ending at " << i;
    if (i < hits.size()) in_window += hits[i] - hits[i - 100];
  }
}

TEST(Selection, WeightedOrderTakesEveryPositiveIndexOnce) {
  Rng rng(3);
  for (std::size_t count : {std::size_t{2}, std::size_t{100}}) {
    std::vector<double> weights{1, 0, 5, 2, 0, 3, 1, 1};
    std::vector<std::size_t> out;
    append_weighted_order(weights, count, rng, out);
    const std::size_t expected = std::min<std::size_t>(count, 6);
    ASSERT_EQ(out.size(), expected);
    std::sort(out.begin(), out.end());
    EXPECT_EQ(std::unique(out.begin(), out.end()), out.end());
    for (std::size_t i : out) EXPECT_TRUE(i != 1 && i != 4);
  }
}

TEST(Selection, WeightedOrderPutsHeavierFirstInProportion) {
  Rng rng(5);
  for (std::size_t count : {std::size_t{2}, std::size_t{6}}) {  // repeated draws; sorted keys
    int heavy_first = 0;
    for (int n = 0; n < 10000; ++n) {
      std::vector<double> weights{1, 1, 1, 1, 1, 5};
      std::vector<std::size_t> out;
      append_weighted_order(weights, count, rng, out);
      heavy_first += out.front() == 5 ? 1 : 0;
    }
    EXPECT_NEAR(heavy_first / 10000.0, 0.5, 0.02) << count;
  }
}

}  // namespace
}  // namespace bc::balance
