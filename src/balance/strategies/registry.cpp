// Strategy names, one line each. A new strategy is one file in this folder and one line here.
#include <array>
#include <string>
#include <utility>

#include "balance/strategy.h"

namespace bc::balance {

Result<std::unique_ptr<Strategy>> make_concurrency(const ModelSpec& spec);
Result<std::unique_ptr<Strategy>> make_qps(const ModelSpec& spec);
Result<std::unique_ptr<Strategy>> make_response_time(const ModelSpec& spec);
Result<std::unique_ptr<Strategy>> make_tokens(const ModelSpec& spec);
Result<std::unique_ptr<Strategy>> make_least_request(const ModelSpec& spec);

namespace {

constexpr std::array<std::pair<std::string_view, StrategyFactory>, 5> kStrategies{{
    {"concurrency", &make_concurrency},
    {"qps", &make_qps},
    {"response_time", &make_response_time},
    {"tokens", &make_tokens},
    {"least_request", &make_least_request},
}};

}  // namespace

Result<std::unique_ptr<Strategy>> make_strategy(const ModelSpec& spec) {
  for (const auto& [name, factory] : kStrategies) {
    if (name == spec.strategy) return factory(spec);
  }
  std::string known;
  for (const auto& [name, factory] : kStrategies) {
    if (!known.empty()) known += ", ";
    known += name;
  }
  return Error::invalid_request(
      "model '" + spec.name + "': unknown strategy '" + spec.strategy + "' (known: " + known + ")",
      "invalid_config");
}

std::vector<std::string_view> strategy_names() {
  std::vector<std::string_view> names;
  for (const auto& [name, factory] : kStrategies) names.push_back(name);
  return names;
}

}  // namespace bc::balance
