// The usage ledger's allowance source (usage/allowance.h) for one generation of the config:
// the daily quotas (rpd, tpd) of its pool's keys and the budgets of its client keys. The
// ledger's writer asks it, once per flush interval and whenever a key or client runs short,
// which marks should rise; once they are committed it grants them to the keys
// (balance::Pool::grant_quota) and budgets (ClientBudgets::grant_marks).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "api/client_budgets.h"
#include "balance/pool.h"
#include "gateway/gateway.h"
#include "usage/allowance.h"

namespace bc::api {

class Allowances final : public usage::AllowanceSource {
 public:
  // Gates the pool's daily quotas (balance::Pool::gate_quotas). `budgets` must be read back
  // (ClientBudgets::read_back) already. Both are held weakly: the generation owns them, and
  // the budgets' own owner holds the ledger, which holds this source.
  Allowances(std::shared_ptr<gateway::Gateway> gateway, std::shared_ptr<ClientBudgets> budgets);

  std::vector<usage::AllowanceMark> wanted(std::int64_t wall_ms) override;
  void granted(const std::vector<usage::AllowanceMark>& marks, std::int64_t wall_ms) override;
  std::vector<usage::AllowanceMark> exact(std::int64_t wall_ms) override;

 private:
  // A key with a daily quota, and its counts when the writer last looked.
  struct Key {
    balance::Target target;
    std::string scope;  // "key:<model>"
    std::string id;
    std::int64_t seen_day = 0;
    std::int64_t seen_requests = 0;
    std::int64_t seen_tokens = 0;
  };

  std::weak_ptr<gateway::Gateway> gateway_;
  std::weak_ptr<ClientBudgets> budgets_;
  std::vector<Key> keys_;
  std::vector<const Key*> wanted_keys_;  // the key of each key mark of the last wanted()
};

}  // namespace bc::api
