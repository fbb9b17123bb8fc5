// Strategy names, one row each. A new strategy is one file in this folder, its factory's
// declaration and one row in the table here (the table's size follows from its rows).
#include <string>

#include "balance/strategy.h"

namespace bc::balance {

Result<std::unique_ptr<Strategy>> make_concurrency(const ModelSpec& spec);
Result<std::unique_ptr<Strategy>> make_qps(const ModelSpec& spec);
Result<std::unique_ptr<Strategy>> make_response_time(const ModelSpec& spec);
Result<std::unique_ptr<Strategy>> make_tokens(const ModelSpec& spec);
Result<std::unique_ptr<Strategy>> make_least_request(const ModelSpec& spec);

namespace {

struct Entry {
  std::string_view name;
  StrategyFactory make;
};

constexpr Entry kStrategies[] = {
    {"concurrency", &make_concurrency},     {"qps", &make_qps},
    {"response_time", &make_response_time}, {"tokens", &make_tokens},
    {"least_request", &make_least_request},
};

}  // namespace

Result<std::unique_ptr<Strategy>> make_strategy(const ModelSpec& spec) {
  for (const auto& entry : kStrategies) {
    if (entry.name == spec.strategy) return entry.make(spec);
  }
  std::string known;
  for (const auto& entry : kStrategies) {
    if (!known.empty()) known += ", ";
    known += entry.name;
  }
  return Error::invalid_request(
      "model '" + spec.name + "': unknown strategy '" + spec.strategy + "' (known: " + known + ")",
      "invalid_config");
}

std::vector<std::string_view> strategy_names() {
  std::vector<std::string_view> names;
  for (const auto& entry : kStrategies) names.push_back(entry.name);
  return names;
}

}  // namespace bc::balance
