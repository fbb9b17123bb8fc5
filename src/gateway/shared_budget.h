// A client's budgets (requests_per_day, tokens_per_day, tokens_per_month) counted in Redis
// across the instances (`state.backend: redis`): one round trip before the key pick takes the
// request and its estimate, and the end of the request settles the tokens with the real use
// without waiting. While Redis is down the caller falls back on its local counts held to this
// instance's share of each budget (state/degraded.h).
//
// Used from the worker that owns the SharedAdmission (its Redis session is that loop's).
#pragma once

#include <boost/asio/awaitable.hpp>
#include <cstdint>
#include <string>

#include "state/degraded.h"
#include "state/shared_limits.h"

namespace bc::gateway {

class SharedAdmission;

struct BudgetLimits {
  std::int64_t requests_per_day = 0;  // 0: none
  std::int64_t tokens_per_day = 0;
  std::int64_t tokens_per_month = 0;
};

// What a request took from a client's shared budgets, to be settled when it ends. Move-only;
// dropped unsettled, the reservation stays as estimated (as when no usage is known).
class SharedBudgetHold {
 public:
  SharedBudgetHold() = default;
  SharedBudgetHold(SharedBudgetHold&&) = default;
  SharedBudgetHold& operator=(SharedBudgetHold&&) = default;
  bool held() const { return owner_ != nullptr; }
  // Replaces the reservation with `used` tokens; not waited for; once.
  void settle(std::int64_t used);

 private:
  friend struct SharedBudgetTaker;
  SharedAdmission* owner_ = nullptr;
  std::string client_;
  std::int64_t day_start_ms_ = 0;
  std::int64_t month_start_ms_ = 0;
  std::int64_t reserved_ = 0;
};

struct SharedBudgetVerdict {
  enum class Kind { kTaken, kRefused, kUnavailable };
  Kind kind = Kind::kTaken;
  state::BudgetOutcome crossed = state::BudgetOutcome::kTaken;  // kRefused: which budget
  std::int64_t resets_at_ms = 0;  // kRefused: the end of that budget's period (Unix ms)
  state::LiveView live;           // kUnavailable: the instances to share the budgets with
};

struct SharedBudgetTaker {
  // Takes one request and `tokens` at `wall_ms` from `client`'s budgets in Redis. kTaken:
  // `hold` keeps what to settle. kUnavailable: Redis is down or failed; the caller decides
  // on its local counts and `live`.
  static boost::asio::awaitable<SharedBudgetVerdict> take(SharedAdmission& shared,
                                                          std::string client, BudgetLimits limits,
                                                          std::int64_t wall_ms, std::int64_t tokens,
                                                          SharedBudgetHold& hold);
};

}  // namespace bc::gateway
