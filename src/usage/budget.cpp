#include "usage/budget.h"

#include <algorithm>

namespace bc::usage {

void Budget::roll(std::int64_t wall_ms) {
  const TimeZone utc;
  if (wall_ms >= day_.end_ms || day_.end_ms == 0) {
    const TimeWindow day = day_window(wall_ms, 0, utc);
    if (day.start_ms > day_.start_ms) {
      day_ = day;
      use_.requests_today = 0;
      use_.tokens_today = 0;
    }
  }
  if (wall_ms >= month_.end_ms || month_.end_ms == 0) {
    const TimeWindow month = month_window(wall_ms, utc);
    if (month.start_ms > month_.start_ms) {
      month_ = month;
      use_.tokens_this_month = 0;
    }
  }
}

std::optional<BudgetRefusal> Budget::take(std::int64_t wall_ms, std::int64_t tokens) {
  roll(wall_ms);
  if (limits_.requests_per_day > 0 && use_.requests_today + 1 > limits_.requests_per_day) {
    return BudgetRefusal{"requests_per_day", limits_.requests_per_day, day_.end_ms};
  }
  if (limits_.tokens_per_day > 0 && use_.tokens_today + tokens > limits_.tokens_per_day) {
    return BudgetRefusal{"tokens_per_day", limits_.tokens_per_day, day_.end_ms};
  }
  if (limits_.tokens_per_month > 0 && use_.tokens_this_month + tokens > limits_.tokens_per_month) {
    return BudgetRefusal{"tokens_per_month", limits_.tokens_per_month, month_.end_ms};
  }
  use_.requests_today += 1;
  use_.tokens_today += tokens;
  use_.tokens_this_month += tokens;
  return std::nullopt;
}

void Budget::settle(std::int64_t taken_at_ms, std::int64_t reserved, std::int64_t used) {
  const std::int64_t delta = used - reserved;
  if (taken_at_ms >= day_.start_ms && taken_at_ms < day_.end_ms) {
    use_.tokens_today = std::max<std::int64_t>(0, use_.tokens_today + delta);
  }
  if (taken_at_ms >= month_.start_ms && taken_at_ms < month_.end_ms) {
    use_.tokens_this_month = std::max<std::int64_t>(0, use_.tokens_this_month + delta);
  }
}

void Budget::give_back(std::int64_t taken_at_ms, std::int64_t tokens) {
  if (taken_at_ms >= day_.start_ms && taken_at_ms < day_.end_ms) {
    use_.requests_today = std::max<std::int64_t>(0, use_.requests_today - 1);
    use_.tokens_today = std::max<std::int64_t>(0, use_.tokens_today - tokens);
  }
  if (taken_at_ms >= month_.start_ms && taken_at_ms < month_.end_ms) {
    use_.tokens_this_month = std::max<std::int64_t>(0, use_.tokens_this_month - tokens);
  }
}

void Budget::seed(std::int64_t wall_ms, const BudgetUse& use) {
  roll(wall_ms);
  use_.requests_today = std::max(use_.requests_today, use.requests_today);
  use_.tokens_today = std::max(use_.tokens_today, use.tokens_today);
  use_.tokens_this_month = std::max(use_.tokens_this_month, use.tokens_this_month);
}

BudgetUse Budget::use(std::int64_t wall_ms) {
  roll(wall_ms);
  return use_;
}

}  // namespace bc::usage
