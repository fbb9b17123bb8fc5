// A client's budget (auth.client_keys[]: requests_per_day, tokens_per_day, tokens_per_month)
// as pure counting: each request reserves one request and its token estimate in the UTC day
// and month holding its wall-clock time, and settles the tokens with the real use afterwards.
// Not thread-safe: the api layer (api/client_budgets.h) locks around it.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

#include "core/time_zone.h"

namespace bc::usage {

struct BudgetLimits {
  std::int64_t requests_per_day = 0;  // 0: unlimited
  std::int64_t tokens_per_day = 0;
  std::int64_t tokens_per_month = 0;
  bool any() const { return requests_per_day > 0 || tokens_per_day > 0 || tokens_per_month > 0; }
};

// Which budget a request would cross, and when that budget's period ends (Unix ms).
struct BudgetRefusal {
  std::string_view budget;  // "requests_per_day", "tokens_per_day" or "tokens_per_month"
  std::int64_t limit = 0;
  std::int64_t resets_at_ms = 0;
};

struct BudgetUse {
  std::int64_t requests_today = 0;
  std::int64_t tokens_today = 0;
  std::int64_t tokens_this_month = 0;
};

class Budget {
 public:
  explicit Budget(BudgetLimits limits) : limits_(limits) {}

  const BudgetLimits& limits() const { return limits_; }
  // Takes one request and `tokens` in the periods holding `wall_ms`, or takes nothing and says
  // which budget it would cross.
  std::optional<BudgetRefusal> take(std::int64_t wall_ms, std::int64_t tokens);
  // Replaces the `reserved` tokens taken at `taken_at_ms` with `used` (in the periods that
  // still hold that time; a period that ended keeps nothing of it).
  void settle(std::int64_t taken_at_ms, std::int64_t reserved, std::int64_t used);
  // Takes back one request and its `tokens` taken at `taken_at_ms` (the budgets shared with
  // other instances refused it after this one took it), in the periods that still hold it.
  void give_back(std::int64_t taken_at_ms, std::int64_t tokens);
  // Counts use read back from the usage ledger (startup): the larger of it and what is held.
  void seed(std::int64_t wall_ms, const BudgetUse& use);
  // The use in the periods holding `wall_ms`.
  BudgetUse use(std::int64_t wall_ms);

 private:
  void roll(std::int64_t wall_ms);

  BudgetLimits limits_;
  TimeWindow day_;
  TimeWindow month_;
  BudgetUse use_;
};

}  // namespace bc::usage
