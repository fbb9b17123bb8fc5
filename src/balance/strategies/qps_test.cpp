#include <map>
#include <vector>

#include <gtest/gtest.h>

#include "balance/strategy.h"
#include "balance/test_support.h"

namespace bc::balance {
namespace {

using testing::at;
using testing::make_pool;
using testing::model_spec;

ModelSpec qps_spec(std::initializer_list<double> weights, double max_qps) {
  auto spec = model_spec("m", weights, "qps");
  spec.max_qps = max_qps;
  return spec;
}

// Offers requests at random times, about `rate` per second, for `seconds`; each goes to the
// first candidate that admits it. Returns the start times per key.
std::map<std::uint32_t, std::vector<double>> run(Pool& pool, double rate, double seconds) {
  Rng rng(17);
  std::map<std::uint32_t, std::vector<double>> starts;
  for (double t = 0; t < seconds; t += rng.uniform() * 2 / rate) {
    for (const Target& target : pool.candidates({}, at(t), rng)) {
      if (auto lease = pool.try_acquire(target, {}, at(t))) {
        starts[target.key].push_back(t);
        lease->settle(testing::ok_outcome(), at(t));
        break;
      }
    }
  }
  return starts;
}

// The most starts in any closed window [s, s + 1 s].
std::size_t busiest_second(const std::vector<double>& starts) {
  std::size_t most = 0;
  std::size_t j = 0;
  for (std::size_t i = 0; i < starts.size(); ++i) {
    while (j < starts.size() && starts[j] <= starts[i] + 1.0) ++j;
    most = std::max(most, j - i);
  }
  return most;
}

TEST(QpsStrategy, NeedsMaxQps) {
  auto pool = Pool::create({model_spec("m", {1}, "qps")});
  ASSERT_FALSE(pool.ok());
  EXPECT_NE(pool.error().message.find("max_qps"), std::string::npos);
}

TEST(QpsStrategy, NoKeyEverStartsMoreThanMaxQpsInAnyOneSecondWindow) {
  auto pool = make_pool({qps_spec({2, 1, 1}, 5)});
  EXPECT_EQ(pool->strategy(0).capacity(), Capacity::kQps);
  // Offer four times the capacity of 15 per second.
  const auto starts = run(*pool, 60, 120);
  ASSERT_EQ(starts.size(), 3u);
  for (const auto& [key, times] : starts) {
    EXPECT_LE(busiest_second(times), 5u) << "key " << key;
    // Smooth, not starved: close to 5 per second over the run.
    EXPECT_GT(static_cast<double>(times.size()), 0.9 * 5 * 120) << "key " << key;
  }
}

TEST(QpsStrategy, UnsaturatedKeysShareByWeight) {
  auto pool = make_pool({qps_spec({3, 1}, 100)});
  const auto starts = run(*pool, 40, 100);  // 40/s against 200/s of capacity
  const double total = static_cast<double>(starts.at(0).size() + starts.at(1).size());
  EXPECT_NEAR(static_cast<double>(starts.at(0).size()) / total, 0.75, 0.02);
}

TEST(QpsStrategy, FractionalLimitsRoundDownPerSecondAndSpreadBelowOne) {
  auto two_and_a_half = make_pool({qps_spec({1}, 2.5)});
  const auto starts = run(*two_and_a_half, 20, 60);
  EXPECT_LE(busiest_second(starts.at(0)), 2u);

  auto half = make_pool({qps_spec({1}, 0.5)});
  const auto slow = run(*half, 20, 60).at(0);
  ASSERT_GT(slow.size(), 25u);
  for (std::size_t i = 1; i < slow.size(); ++i) EXPECT_GE(slow[i] - slow[i - 1], 2.0);
}

TEST(QpsStrategy, AFullKeyIsNotACandidateAndNextAvailableSaysWhenItFrees) {
  auto pool = make_pool({qps_spec({1}, 2)});
  ASSERT_TRUE(pool->try_acquire({0, 0}, {}, at(0.0)));
  ASSERT_TRUE(pool->try_acquire({0, 0}, {}, at(0.5)));
  Rng rng(1);
  EXPECT_TRUE(pool->candidates({}, at(0.9), rng).empty());
  EXPECT_FALSE(pool->try_acquire({0, 0}, {}, at(0.9)));
  const auto next = pool->next_available({}, at(0.9));
  ASSERT_TRUE(next.has_value());
  EXPECT_EQ(*next, at(1.01));
  EXPECT_EQ(pool->candidates({}, *next, rng).size(), 1u);
}

}  // namespace
}  // namespace bc::balance
