#include <gtest/gtest.h>

#include "balance/strategy.h"
#include "balance/test_support.h"

namespace bc::balance {
namespace {

TEST(StrategyRegistry, EveryListedNameBuilds) {
  const auto names = strategy_names();
  EXPECT_GE(names.size(), 4u);
  for (std::string_view name : names) {
    auto spec = testing::model_spec("m", {1}, std::string(name), 1);
    spec.max_qps = 1;
    spec.rpm = 1;
    auto strategy = make_strategy(spec);
    EXPECT_TRUE(strategy.ok()) << name;
  }
}

TEST(StrategyRegistry, AnUnknownNameIsAnErrorListingTheKnownOnes) {
  auto strategy = make_strategy(testing::model_spec("glm", {1}, "round_robin"));
  ASSERT_FALSE(strategy.ok());
  EXPECT_EQ(strategy.error().code, "invalid_config");
  for (std::string_view name : strategy_names()) {
    EXPECT_NE(strategy.error().message.find(name), std::string::npos) << name;
  }
}

TEST(StrategyRegistry, CapacityNamesMatchTheReports) {
  EXPECT_EQ(capacity_name(Capacity::kConcurrency), "concurrency");
  EXPECT_EQ(capacity_name(Capacity::kQps), "qps");
  EXPECT_EQ(capacity_name(Capacity::kTokens), "tokens");
}

}  // namespace
}  // namespace bc::balance
