// The usage ledger's allowance source for one generation of the config (api/allowances.h).
#include "api/allowances.h"

#include "balance/key_load.h"
#include "core/clock.h"
#include "core/time_zone.h"

namespace bc::api {

Allowances::Allowances(std::shared_ptr<gateway::Gateway> gateway,
                       std::shared_ptr<ClientBudgets> budgets)
    : gateway_(gateway), budgets_(budgets) {
  balance::Pool& pool = gateway->pool();
  for (std::uint32_t m = 0; m < pool.model_count(); ++m) {
    const balance::ModelSpec& spec = pool.model(m);
    if (spec.rpd <= 0 && spec.tpd <= 0) continue;
    for (std::uint32_t k = 0; k < spec.keys.size(); ++k) {
      keys_.push_back({{m, k}, "key:" + spec.name, spec.keys[k].id});
    }
  }
  pool.gate_quotas();
}

std::vector<usage::AllowanceMark> Allowances::wanted(std::int64_t wall_ms) {
  std::vector<usage::AllowanceMark> out;
  wanted_keys_.clear();
  const auto gateway = gateway_.lock();
  if (!gateway) return out;
  balance::Pool& pool = gateway->pool();
  for (Key& key : keys_) {
    const balance::ModelSpec& spec = pool.model(key.target.model);
    const balance::KeyLoad& load = pool.load(key.target);
    const TimeWindow day = day_window(wall_ms, spec.quota_reset_hour, spec.quota_zone);
    const balance::QuotaUse use = load.quota_use();
    const balance::QuotaGrant grant = load.quota_grant();
    const bool today = use.day_start_ms == day.start_ms;
    const std::int64_t requests = today ? use.requests : 0;
    const std::int64_t tokens = today ? use.tokens : 0;
    // Counted before the writer first looked this day (read back at startup) is not a rate.
    if (key.seen_day != day.start_ms) {
      key.seen_day = day.start_ms;
      key.seen_requests = requests;
      key.seen_tokens = tokens;
    }
    const bool granted_today = grant.day_start_ms == day.start_ms;
    const std::int64_t granted_requests = granted_today ? grant.requests : 0;
    const std::int64_t granted_tokens = granted_today ? grant.tokens : 0;
    const std::int64_t r = usage::next_mark(spec.rpd, requests, requests - key.seen_requests,
                                            granted_requests, grant.blocked ? 1 : 0);
    const std::int64_t t =
        usage::next_mark(spec.tpd, tokens, tokens - key.seen_tokens, granted_tokens,
                         grant.blocked ? std::max<std::int64_t>(grant.wanted_tokens, 1) : 0);
    key.seen_requests = requests;
    key.seen_tokens = tokens;
    if (r > granted_requests || t > granted_tokens || !granted_today) {
      out.push_back({key.scope, key.id, day.start_ms, r, t});
      wanted_keys_.push_back(&key);
    }
  }
  if (const auto budgets = budgets_.lock()) budgets->add_wanted_marks(wall_ms, out);
  return out;
}

void Allowances::granted(const std::vector<usage::AllowanceMark>& marks, std::int64_t wall_ms) {
  const TimePoint now = Clock::now();
  const auto gateway = gateway_.lock();
  if (!gateway) return;
  balance::Pool& pool = gateway->pool();
  // The key marks come first, in the order of wanted_keys_.
  for (std::size_t i = 0; i < wanted_keys_.size() && i < marks.size(); ++i) {
    const usage::AllowanceMark& mark = marks[i];
    pool.grant_quota(wanted_keys_[i]->target, wall_ms, now, mark.period_start_ms, mark.requests,
                     mark.tokens);
  }
  if (const auto budgets = budgets_.lock()) budgets->grant_marks(marks, wall_ms);
}

std::vector<usage::AllowanceMark> Allowances::exact(std::int64_t wall_ms) {
  std::vector<usage::AllowanceMark> out;
  const auto gateway = gateway_.lock();
  if (!gateway) return out;
  balance::Pool& pool = gateway->pool();
  for (const Key& key : keys_) {
    const balance::ModelSpec& spec = pool.model(key.target.model);
    const TimeWindow day = day_window(wall_ms, spec.quota_reset_hour, spec.quota_zone);
    const balance::QuotaUse use = pool.load(key.target).quota_use();
    if (use.day_start_ms != day.start_ms) continue;
    out.push_back({key.scope, key.id, day.start_ms, use.requests, use.tokens});
  }
  if (const auto budgets = budgets_.lock()) budgets->add_exact_marks(wall_ms, out);
  return out;
}

}  // namespace bc::api
