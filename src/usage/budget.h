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

// Which budget a request would cross, and when that budget's period ends (Unix ms); or, with
// `pending`, that it fits the budget but not yet the allowance the ledger has made durable
// (usage/allowance.h): the caller waits for the next grant and tries again.
struct BudgetRefusal {
  std::string_view budget;  // "requests_per_day", "tokens_per_day" or "tokens_per_month"
  std::int64_t limit = 0;
  std::int64_t resets_at_ms = 0;
  bool pending = false;
};

// The allowance granted for the current day and month (a grant never shrinks in its period).
struct BudgetGrant {
  std::int64_t day_start_ms = 0;  // 0: none yet
  std::int64_t requests_today = 0;
  std::int64_t tokens_today = 0;
  std::int64_t month_start_ms = 0;  // 0: none yet
  std::int64_t tokens_this_month = 0;
  std::int64_t wanted_tokens = 0;  // the largest estimate it turned away since it was set
  bool blocked = false;            // it turned a request away since it was set
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
  // The start of the day and the month holding `wall_ms` (UTC).
  std::int64_t day_start(std::int64_t wall_ms);
  std::int64_t month_start(std::int64_t wall_ms);

  // From now on take() also stays inside the grant; with none yet, every take is pending.
  void gate() { gated_ = true; }
  bool gated() const { return gated_; }
  // Raises the grant for the periods holding `wall_ms` (the grant's own period starts must
  // match them; a grant for another period is ignored).
  void grant(std::int64_t wall_ms, const BudgetGrant& grant);
  const BudgetGrant& granted() const { return grant_; }

 private:
  void roll(std::int64_t wall_ms);
  bool within_grant(std::int64_t tokens) const;

  BudgetLimits limits_;
  TimeWindow day_;
  TimeWindow month_;
  BudgetUse use_;
  bool gated_ = false;
  BudgetGrant grant_;
};

}  // namespace bc::usage
