// How the keys of one model share its traffic. A model names its strategy in the config
// (`strategy: qps`); strategies/registry.cpp maps the name to a factory, one line each.
//
// Limits belong to the key, not to the strategy: KeyLoad keeps every configured limit
// (max_concurrency, max_qps, rpm, tpm), cooldowns and disabled keys whatever the strategy, and
// the pool asks a strategy only about keys that are inside all of them. A strategy then says
// how much of its configured weight a key gets now, may turn a key away for reasons of its
// own, names the capacity the reports show, and checks at startup that its model configures
// what it needs (the qps strategy without max_qps is an error).
//
// weigh() runs on every worker thread at once, for the few keys a pick draws (every key of a
// small model): it must be const, lock-free and cheap (reads of KeyLoad's atomics).
#pragma once

#include <memory>
#include <optional>
#include <string_view>
#include <vector>

#include "balance/key_load.h"
#include "balance/pool.h"
#include "core/clock.h"
#include "core/result.h"

namespace bc::balance {

// The capacity a model's load is measured in, in reports and load_percent.
enum class Capacity {
  kConcurrency,  // requests in flight / max_concurrency
  kQps,          // starts in the last second / max_qps
  kTokens,       // tokens in the last minute / tpm (requests / rpm without tpm)
};
constexpr std::string_view capacity_name(Capacity capacity) {
  switch (capacity) {
    case Capacity::kQps:
      return "qps";
    case Capacity::kTokens:
      return "tokens";
    case Capacity::kConcurrency:
      break;
  }
  return "concurrency";
}

class Strategy {
 public:
  virtual ~Strategy() = default;
  // nullopt: the key cannot take this request now; otherwise a factor (> 0) on its weight.
  virtual std::optional<double> weigh(const KeyLoad& load, const Demand& demand,
                                      TimePoint now) const = 0;
  virtual Capacity capacity() const = 0;
  // Does the factor follow the key's load (in flight, latency)? A strategy whose factor is
  // constant says no, and a pick takes the first key drawn by weight from the keys that can
  // serve (smooth shares, O(log keys)); otherwise a pick draws a few keys by weight and chooses
  // among them by factor (pool_pick.cpp).
  virtual bool reads_load() const { return true; }
};

// A factory checks the model's config and builds its strategy; errors name model and field.
using StrategyFactory = Result<std::unique_ptr<Strategy>> (*)(const ModelSpec& spec);

// The strategy named by spec.strategy; an unknown name is an error listing the known ones.
Result<std::unique_ptr<Strategy>> make_strategy(const ModelSpec& spec);
std::vector<std::string_view> strategy_names();

}  // namespace bc::balance
