// Client budgets shared through Redis (gateway/shared_budget.h).
#include "gateway/shared_budget.h"

#include "core/time_zone.h"
#include "gateway/shared_admission.h"

namespace bc::gateway {

namespace {

// A period's counts are kept an hour past its end, so an instance whose clock lags a little
// still finds them; Redis holds at most two days and two months per client.
constexpr std::int64_t kPeriodMarginMs = 3600 * 1000;

}  // namespace

void SharedBudgetHold::settle(std::int64_t used) {
  if (owner_ == nullptr) return;
  SharedAdmission* owner = std::exchange(owner_, nullptr);
  if (auto* client = owner->live_client()) {
    client->settle_budget(client_, day_start_ms_, month_start_ms_, used - reserved_);
  }
}

boost::asio::awaitable<SharedBudgetVerdict> SharedBudgetTaker::take(
    SharedAdmission& shared, std::string client, BudgetLimits limits, std::int64_t wall_ms,
    std::int64_t tokens, SharedBudgetHold& hold) {
  SharedBudgetVerdict verdict;
  // The UTC day and month, as the local budgets (usage/budget.h) count them.
  const TimeZone utc;
  const TimeWindow day = day_window(wall_ms, 0, utc);
  const TimeWindow month = month_window(wall_ms, utc);
  state::SharedLimitsClient* redis = shared.live_client();
  if (redis == nullptr) {
    verdict.kind = SharedBudgetVerdict::Kind::kUnavailable;
    verdict.live = shared.live();
    co_return verdict;
  }
  state::BudgetClaim claim;
  claim.requests_per_day = limits.requests_per_day;
  claim.tokens_per_day = limits.tokens_per_day;
  claim.tokens_per_month = limits.tokens_per_month;
  claim.tokens = tokens;
  claim.day_start_ms = day.start_ms;
  claim.day_ttl_ms = day.end_ms - wall_ms + kPeriodMarginMs;
  claim.month_start_ms = month.start_ms;
  claim.month_ttl_ms = month.end_ms - wall_ms + kPeriodMarginMs;
  const std::string name = client;
  auto answer = co_await redis->take_budget(std::move(client), claim);
  if (!answer) {
    // A failed or slow call ended the link (the session reconnects): as if Redis were down.
    verdict.kind = SharedBudgetVerdict::Kind::kUnavailable;
    verdict.live = shared.live();
    co_return verdict;
  }
  if (*answer != state::BudgetOutcome::kTaken) {
    verdict.kind = SharedBudgetVerdict::Kind::kRefused;
    verdict.crossed = *answer;
    verdict.resets_at_ms =
        *answer == state::BudgetOutcome::kTokensPerMonth ? month.end_ms : day.end_ms;
    co_return verdict;
  }
  hold.owner_ = &shared;
  hold.client_ = name;
  hold.day_start_ms_ = day.start_ms;
  hold.month_start_ms_ = month.start_ms;
  hold.reserved_ = tokens;
  co_return verdict;
}

}  // namespace bc::gateway
