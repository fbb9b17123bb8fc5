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
  if (gated_ && !within_grant(tokens)) {
    grant_.blocked = true;
    grant_.wanted_tokens = std::max(grant_.wanted_tokens, tokens);
    return BudgetRefusal{"allowance", 0, 0, true};
  }
  use_.requests_today += 1;
  use_.tokens_today += tokens;
  use_.tokens_this_month += tokens;
  return std::nullopt;
}

bool Budget::within_grant(std::int64_t tokens) const {
  const bool daily = limits_.requests_per_day > 0 || limits_.tokens_per_day > 0;
  if (daily && grant_.day_start_ms != day_.start_ms) return false;
  if (limits_.requests_per_day > 0 && use_.requests_today + 1 > grant_.requests_today) {
    return false;
  }
  if (limits_.tokens_per_day > 0 && use_.tokens_today + tokens > grant_.tokens_today) {
    return false;
  }
  if (limits_.tokens_per_month > 0 &&
      (grant_.month_start_ms != month_.start_ms ||
       use_.tokens_this_month + tokens > grant_.tokens_this_month)) {
    return false;
  }
  return true;
}

void Budget::grant(std::int64_t wall_ms, const BudgetGrant& grant) {
  roll(wall_ms);
  if (grant.day_start_ms == day_.start_ms) {
    if (grant_.day_start_ms != day_.start_ms) {
      grant_.day_start_ms = day_.start_ms;
      grant_.requests_today = 0;
      grant_.tokens_today = 0;
    }
    grant_.requests_today = std::max(grant_.requests_today, grant.requests_today);
    grant_.tokens_today = std::max(grant_.tokens_today, grant.tokens_today);
  }
  if (grant.month_start_ms == month_.start_ms) {
    if (grant_.month_start_ms != month_.start_ms) {
      grant_.month_start_ms = month_.start_ms;
      grant_.tokens_this_month = 0;
    }
    grant_.tokens_this_month = std::max(grant_.tokens_this_month, grant.tokens_this_month);
  }
  grant_.blocked = false;
  grant_.wanted_tokens = 0;
}

std::int64_t Budget::day_start(std::int64_t wall_ms) {
  roll(wall_ms);
  return day_.start_ms;
}

std::int64_t Budget::month_start(std::int64_t wall_ms) {
  roll(wall_ms);
  return month_.start_ms;
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
