// The budgets of the client keys (requests_per_day, tokens_per_day, tokens_per_month): each
// chat call takes one request and its token estimate before it runs, and settles the tokens
// when it ends; over a budget, it is refused with 429 budget_exceeded, the reset time and
// Retry-After. Counts start from the usage ledger when it is on (so a restart does not reset
// them) and are per instance: sharing them between instances (state: redis) plugs in here.
// Thread-safe: one lock per client, held for a few additions.
#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string_view>
#include <vector>

#include "api/client_auth.h"
#include "core/chat.h"
#include "core/error.h"
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

}  // namespace bc::api
