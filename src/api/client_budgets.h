// The budgets of the client keys (requests_per_day, tokens_per_day, tokens_per_month): each
// chat call takes one request and its token estimate before it runs, and settles the tokens
// when it ends; over a budget, it is refused with 429 budget_exceeded, the reset time and
// Retry-After. Counts start from the usage ledger when it is on (so a restart does not reset
// them). With state: redis, the budgets are also counted in Redis across the instances
// (take_shared_budget below, gateway/shared_budget.h); the local counts then serve while Redis
// is down, held to this instance's share.
// Thread-safe: one lock per client, held for a few additions.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string_view>
#include <vector>

#include "api/client_auth.h"
#include "core/chat.h"
#include "core/error.h"
#include "gateway/shared_budget.h"
#include "state/degraded.h"
#include "telemetry/metrics.h"
#include "usage/allowance.h"
#include "usage/budget.h"
#include "usage/ledger.h"

namespace bc::api {

// The tokens a call reserves: about 4 characters a token of its prompt, plus the answer it
// allows (max_tokens, else 256), as admission reserves for a key's tpm.
std::int64_t budget_estimate(const ChatRequest& request);

class ClientBudgets {
 public:
  // `clients`: ClientAuth's keys, whose addresses identify them. `metrics`: where the gauges
  // of what is left go.
  ClientBudgets(const std::vector<ClientKey>& clients, const config::AuthConfig& config,
                telemetry::Metrics& metrics);

  // Reads each budgeted client's use so far from the ledger's store (the larger of its
  // records and its allowance marks), and from then on keeps every take inside the allowance
  // the ledger has made durable (usage/allowance.h), so a crash cannot lead to overspending.
  // A client that `previous` (the generation this one replaces) budgets too starts from its
  // counts there instead, which hold its calls in flight.
  Status read_back(usage::Ledger& ledger, ClientBudgets* previous = nullptr);

  struct Verdict {
    std::optional<Error> refused;  // the 429 to answer when a budget would be crossed
    // Within the budget but not yet within the allowance: the ledger was asked for more;
    // try again shortly.
    bool pending = false;
  };
  // Takes one request and `tokens` for `client` at `wall_ms`, or says why not.
  Verdict take(const ClientKey& client, std::int64_t wall_ms, std::int64_t tokens);

  // The allowance marks (usage/allowance.h) of the budgets, for api/allowances.h: those that
  // should rise now, the grants once written, the exact counts at a clean stop.
  void add_wanted_marks(std::int64_t wall_ms, std::vector<usage::AllowanceMark>& out);
  void grant_marks(const std::vector<usage::AllowanceMark>& marks, std::int64_t wall_ms);
  void add_exact_marks(std::int64_t wall_ms, std::vector<usage::AllowanceMark>& out);
  // The client's budgets; nullopt when it has none.
  std::optional<gateway::BudgetLimits> limits_of(const ClientKey& client);
  // Takes back what take() took at `taken_at_ms` (the shared budgets refused the request).
  void give_back(const ClientKey& client, std::int64_t taken_at_ms, std::int64_t tokens);
  // Degraded (Redis down): the 429 to answer when this instance's counts, the request taken at
  // `wall_ms` included, are past its share of a budget among `live` instances.
  std::optional<Error> beyond_share(const ClientKey& client, std::int64_t wall_ms,
                                    state::LiveView live);
  // The 429 budget_exceeded for `refusal`, with the reset time and Retry-After.
  static Error refusal_error(const ClientKey& client, const usage::BudgetRefusal& refusal,
                             std::int64_t wall_ms);
  // Replaces the reservation taken at `taken_at_ms` with the tokens really used.
  void settle(const ClientKey& client, std::int64_t taken_at_ms, std::int64_t reserved,
              std::int64_t used);

 private:
  struct Entry {
    const ClientKey* client = nullptr;
    std::string name;
    std::mutex mutex;
    usage::Budget budget;
    prometheus::Gauge* remaining[3] = {};  // requests_per_day, tokens_per_day, tokens_per_month
    // The use when the ledger's writer last looked (the day's and month's starts it was in),
    // for the rate that sizes the next mark.
    usage::BudgetUse seen;
    std::int64_t seen_day = 0;
    std::int64_t seen_month = 0;
    explicit Entry(usage::BudgetLimits limits) : budget(limits) {}
  };
  Entry* find(const ClientKey& client);
  static void publish(Entry& e, std::int64_t wall_ms);  // under e.mutex

  std::vector<std::unique_ptr<Entry>> entries_;  // budgeted clients only
  usage::Ledger* ledger_ = nullptr;  // set by read_back(): asked for marks when one runs short
};

class Exchange;

// With state: redis, after the local take_budget(): takes the same request from the client's
// budgets in Redis (one round trip), so the instances count against one budget. The 429 to
// answer when a budget would be crossed (what was taken locally is then given back); while
// Redis is down, the local counts decide, held to this instance's share. What Redis took is
// kept in writer.shared_budget, settled when the request ends.
boost::asio::awaitable<std::optional<Error>> take_shared_budget(gateway::SharedAdmission& shared,
                                                                Exchange& writer);

}  // namespace bc::api
