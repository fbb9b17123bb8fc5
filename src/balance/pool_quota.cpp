// The pool's side of the daily quotas (rpd, tpd): counts read back from the usage ledger at
// startup, and the grants that keep admission inside what the ledger has made durable.
#include "balance/pool_impl.h"

namespace bc::balance {

void Pool::seed_quota(Target target, std::int64_t wall_ms, TimePoint now, std::int64_t requests,
                      std::int64_t tokens) {
  impl_->models[target.model].keys[target.key]->seed_quota(wall_ms, now, requests, tokens);
  impl_->sync(target.model, target.key, now);
}

void Pool::gate_quotas() {
  for (std::size_t m = 0; m < impl_->models.size(); ++m) {
    const ModelState& model = impl_->models[m];
    for (std::size_t k = 0; k < model.keys.size(); ++k) {
      model.keys[k]->gate_quota();
      impl_->sync(m, k, TimePoint{});
    }
  }
}

void Pool::grant_quota(Target target, std::int64_t wall_ms, TimePoint now,
                       std::int64_t day_start_ms, std::int64_t requests, std::int64_t tokens) {
  KeyLoad& load = *impl_->models[target.model].keys[target.key];
  const bool more = load.grant_quota(wall_ms, now, day_start_ms, requests, tokens);
  if (!more) return;
  impl_->sync(target.model, target.key, now);
  if (impl_->listener) impl_->listener(target);
}

void Pool::set_grant_listener(std::function<void()> listener) {
  impl_->grant_listener = std::move(listener);
}

bool Pool::awaits_grant(const Demand& demand) const {
  for (std::size_t m = 0; m < impl_->models.size(); ++m) {
    if (!impl_->serves(m, demand)) continue;
    for (const auto& key : impl_->models[m].keys) {
      if (key->grant_blocked() && !key->disabled() && !key->drained()) {
        if (impl_->grant_listener) impl_->grant_listener();
        return true;
      }
    }
  }
  return false;
}

}  // namespace bc::balance
