#include "balance/pool.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <set>
#include <unordered_map>
#include <utility>

#include "balance/pool_impl.h"

namespace bc::balance {
namespace {

Error config_error(const std::string& model, const std::string& message) {
  return Error::invalid_request("model '" + model + "': " + message, "invalid_config");
}

bool finite_at_least(double value, double low) {
  return std::isfinite(value) && value >= low;
}

Status check(const ModelSpec& spec) {
  if (spec.name.empty()) return config_error(spec.name, "a model needs a name");
  if (!finite_at_least(spec.weight, 0)) return config_error(spec.name, "bad model_weight");
  if (spec.keys.empty()) return config_error(spec.name, "no keys");
  if (spec.keys.size() > std::numeric_limits<std::uint32_t>::max()) {
    return config_error(spec.name, "too many keys");
  }
  if (spec.max_concurrency < 0) return config_error(spec.name, "max_concurrency below 0");
  if (!finite_at_least(spec.max_qps, 0)) return config_error(spec.name, "bad max_qps");
  if (spec.max_qps > 1e6) return config_error(spec.name, "max_qps above 1000000");
  if (spec.rpm < 0) return config_error(spec.name, "rpm below 0");
  if (spec.tpm < 0) return config_error(spec.name, "tpm below 0");
  if (spec.rpd < 0 || spec.tpd < 0) return config_error(spec.name, "rpd or tpd below 0");
  if (!(spec.decay_factor > 0 && spec.decay_factor < 1)) {
    return config_error(spec.name, "decay_factor must be between 0 and 1");
  }
  if (spec.cooldown.count() < 0) return config_error(spec.name, "cooldown below 0");
  std::set<std::string_view> ids;
  for (const KeySpec& key : spec.keys) {
    if (!finite_at_least(key.weight, 0) || key.weight == 0) {
      return config_error(spec.name, "key '" + key.id + "' needs a weight greater than 0");
    }
    if (!ids.insert(key.id).second)
      return config_error(spec.name, "two keys named '" + key.id + "'");
  }
  return {};
}

constexpr std::uint64_t kKeyStep = 0x6a09e667f3bcc908ULL;  // frac(√2)·2^64

std::vector<double> key_weights_of(const ModelSpec& spec) {
  std::vector<double> weights;
  weights.reserve(spec.keys.size());
  for (const KeySpec& key : spec.keys) weights.push_back(key.weight);
  return weights;
}

}  // namespace

ModelState::ModelState(ModelSpec s, std::unique_ptr<Strategy> st, const Adopt& adopt)
    : spec(std::move(s)),
      strategy(std::move(st)),
      weights(key_weights_of(spec)),
      index(weights),
      indexed(weights.size() > kScanKeys),
      reads_load(spec.auto_weight || strategy->reads_load()),
      key_sequence(kKeyStep) {
  const KeyLimits limits = KeyLimits::of(spec);
  token_limits = limits.tpm > 0 || limits.tpd > 0;
  keys.reserve(spec.keys.size());
  for (std::size_t k = 0; k < spec.keys.size(); ++k) {
    auto kept = adopt ? adopt(spec, k, limits) : nullptr;
    keys.push_back(kept ? std::move(kept) : std::make_shared<KeyLoad>(limits));
  }
  if (spec.max_concurrency > 0) {
    max_in_flight = spec.max_concurrency * static_cast<int>(spec.keys.size());
  }
}

TimePoint Pool::Impl::observe(TimePoint now) const {
  const Clock::rep t = now.time_since_epoch().count();
  const Clock::rep seen = latest.load(std::memory_order_relaxed);
  if (seen >= t) return TimePoint(Duration(seen));
  // A racing store may keep a slightly older time: it is a floor for changes without a time
  // of their own, not a clock.
  latest.store(t, std::memory_order_relaxed);
  return now;
}

TimePoint Pool::Impl::at_least_latest(TimePoint now) const {
  const Clock::rep seen = latest.load(std::memory_order_relaxed);
  return seen > now.time_since_epoch().count() ? TimePoint(Duration(seen)) : now;
}

bool Pool::Impl::serves(std::size_t m, const Demand& demand) const {
  const ModelState& model = models[m];
  if (demand.model) {
    if (*demand.model != m) return false;
  } else if (model.spec.weight <= 0) {
    return false;  // weight 0: only for requests that name the model
  }
  return !demand.needs_tools || model.spec.supports_tools;
}

double Pool::Impl::model_weight(std::size_t m, const Demand& demand, TimePoint) const {
  if (!serves(m, demand)) return 0;
  for (const std::uint32_t closed : demand.closed_models) {
    if (closed == m) return 0;
  }
  return demand.model ? 1.0 : effective_model_weight(models[m]);
}

double Pool::Impl::effective_model_weight(const ModelState& model) {
  double w = model.spec.weight;
  if (model.spec.auto_weight && model.max_in_flight > 0) {
    const double used = static_cast<double>(model.in_flight.load(std::memory_order_relaxed)) /
                        static_cast<double>(model.max_in_flight);
    w *= std::max(kMinFreeFraction, 1.0 - used);
  }
  return w;
}

double Pool::Impl::mean_latency_ns(const ModelState& model) {
  double sum = 0;
  int n = 0;
  for (const auto& load : model.keys) {
    if (auto l = load->latency()) {
      sum += static_cast<double>(l->count());
      ++n;
    }
  }
  return n > 0 ? sum / n : 0;
}

double Pool::Impl::key_weight(const ModelState& model, std::size_t k, const Demand& demand,
                              TimePoint now, double mean_latency) {
  const KeyLoad& load = *model.keys[k];
  if (!load.can_take(demand, now)) return 0;
  const std::optional<double> factor = model.strategy->weigh(load, demand, now);
  if (!factor || !(*factor > 0)) return 0;
  double w = model.weights[k] * *factor;
  if (model.spec.auto_weight) {
    w *= std::max(kMinFreeFraction, load.free_fraction());
    if (auto latency = load.latency(); latency && mean_latency > 0 && latency->count() > 0) {
      w *= std::clamp(mean_latency / static_cast<double>(latency->count()), kMinAutoLatency,
                      kMaxAutoLatency);
    }
  }
  return std::isfinite(w) ? w : 0;
}

double Pool::Impl::key_weights(const ModelState& model, const Demand& demand, TimePoint now,
                               std::vector<double>& weights) {
  const double mean = model.spec.auto_weight ? mean_latency_ns(model) : 0;
  weights.resize(model.keys.size());
  double total = 0;
  for (std::size_t k = 0; k < weights.size(); ++k) {
    weights[k] = key_weight(model, k, demand, now, mean);
    total += weights[k];
  }
  return total;
}

void Pool::Impl::sync_one(const ModelState& model, std::size_t k, TimePoint now) {
  const KeyLoad& load = *model.keys[k];
  static const Demand kAnyDemand;  // the smallest request: one token
  // Each change of the flag checks again: whatever changed the key meanwhile was followed by a
  // sync of its own, and the last one to look decides.
  for (;;) {
    const bool can = load.can_take(kAnyDemand, now);
    if (model.index.set(k, can)) continue;
    if (!can) {
      // Out; if only time stands in the way (a cooldown, a full window, an open breaker),
      // parked until then. A slot freeing or an operator's action syncs it again.
      if (const auto at = load.next_available(kAnyDemand, now)) model.index.park(k, *at);
    }
    return;
  }
}

void Pool::Impl::sync(std::size_t m, std::size_t k, TimePoint now) const {
  const ModelState& model = models[m];
  if (!model.indexed) return;
  now = at_least_latest(now);
  sync_one(model, k, now);
  // Another pool of the lineage holds this key too (a reload, its old leases still running).
  if (model.keys[k].use_count() > 1) {
    const KeyLoad* load = model.keys[k].get();
    std::lock_guard guard(lineage->mutex);
    for (const Impl* other : lineage->pools) {
      if (other == this) continue;
      const auto it = other->shared.find(load);
      if (it == other->shared.end()) continue;
      sync_one(other->models[it->second.model], it->second.key, other->at_least_latest(now));
    }
  }
}

void Pool::Impl::wake_parked(const ModelState& model, TimePoint now) const {
  if (!model.index.any_due(now)) return;
  thread_local std::vector<std::size_t> due;
  due.clear();
  model.index.take_due(now, due);
  for (std::size_t k : due) sync_one(model, k, now);
}

// ---- Lease ----

Lease::Lease(Pool* pool, Target target, TimePoint started)
    : pool_(pool), target_(target), started_(started) {}

Lease::Lease(Lease&& other) noexcept
    : pool_(std::exchange(other.pool_, nullptr)),
      target_(other.target_),
      started_(other.started_),
      reserved_tokens_(other.reserved_tokens_),
      reserved_bucket_(other.reserved_bucket_),
      breaker_trial_(other.breaker_trial_),
      qps_bucket_(other.qps_bucket_),
      rpm_bucket_(other.rpm_bucket_),
      quota_day_(other.quota_day_) {}

Lease& Lease::operator=(Lease&& other) noexcept {
  if (this != &other) {
    if (pool_ != nullptr) std::exchange(pool_, nullptr)->release(*this, nullptr, started_);
    pool_ = std::exchange(other.pool_, nullptr);
    target_ = other.target_;
    started_ = other.started_;
    reserved_tokens_ = other.reserved_tokens_;
    reserved_bucket_ = other.reserved_bucket_;
    breaker_trial_ = other.breaker_trial_;
    qps_bucket_ = other.qps_bucket_;
    rpm_bucket_ = other.rpm_bucket_;
    quota_day_ = other.quota_day_;
  }
  return *this;
}

Lease::~Lease() {
  if (pool_ != nullptr) pool_->release(*this, nullptr, started_);
}

void Lease::abandon() {
  if (pool_ == nullptr) return;
  std::exchange(pool_, nullptr)->release(*this, nullptr, started_);
}

void Lease::give_back(TimePoint now) {
  if (pool_ == nullptr) return;
  std::exchange(pool_, nullptr)->release(*this, nullptr, now, true);
}

void Lease::settle(const Outcome& outcome, TimePoint now) {
  if (pool_ == nullptr) return;
  std::exchange(pool_, nullptr)->release(*this, &outcome, now);
}

// ---- Pool ----

Pool::Pool() : impl_(std::make_unique<Impl>()) {}

Pool::~Pool() {
  if (Impl::Lineage* lineage = impl_->lineage.get()) {
    std::lock_guard guard(lineage->mutex);
    std::erase(lineage->pools, impl_.get());
  }
}

Result<std::unique_ptr<Pool>> Pool::create(std::vector<ModelSpec> models, Pool* previous) {
  if (models.size() > std::numeric_limits<std::uint32_t>::max()) {
    return Error::invalid_request("too many models", "invalid_config");
  }
  std::unique_ptr<Pool> pool(new Pool());
  Impl& impl = *pool->impl_;
  // A key of the same model with the same secret and the same limits keeps its live state;
  // what its upstream refused is forgiven (a reload is how an operator says "fixed"). The old
  // model's keys by secret, so a reload of n keys costs O(n).
  std::unordered_map<std::string_view, std::size_t> old_keys;
  const ModelState* old = nullptr;
  std::vector<std::pair<const KeyLoad*, Target>> kept;  // in `previous`
  ModelState::Adopt adopt;
  if (previous != nullptr) {
    adopt = [&](const ModelSpec& spec, std::size_t key,
                const KeyLimits& limits) -> std::shared_ptr<KeyLoad> {
      if (key == 0) {
        old_keys.clear();
        old = nullptr;
        if (const auto m = previous->find_model(spec.name)) {
          old = &previous->impl_->models[*m];
          for (std::size_t k = 0; k < old->spec.keys.size(); ++k) {
            old_keys.emplace(old->spec.keys[k].secret, k);
          }
        }
      }
      const auto found = old_keys.find(spec.keys[key].secret);
      if (old == nullptr || found == old_keys.end()) return nullptr;
      const auto& load = old->keys[found->second];
      if (!(load->limits() == limits)) {
        auto fresh = std::make_shared<KeyLoad>(limits);
        fresh->cool_down(load->cooling_until());  // a rate limit still holds
        fresh->set_drained(load->drained());      // so does the operator's drain
        return fresh;
      }
      load->set_disabled(false);
      const auto m = static_cast<std::uint32_t>(old - &previous->impl_->models.front());
      kept.emplace_back(load.get(), Target{m, static_cast<std::uint32_t>(found->second)});
      return load;
    };
  }
  for (ModelSpec& spec : models) {
    if (Status ok = check(spec); !ok) return ok.error();
    auto strategy = make_strategy(spec);
    if (!strategy) return strategy.error();
    impl.models.emplace_back(std::move(spec), std::move(strategy).value(), adopt);
  }
  for (std::size_t m = 0; m < impl.models.size(); ++m) {
    impl.by_name.emplace_back(impl.models[m].spec.name, m);
  }
  std::sort(impl.by_name.begin(), impl.by_name.end());
  for (std::size_t i = 1; i < impl.by_name.size(); ++i) {
    if (impl.by_name[i].first == impl.by_name[i - 1].first) {
      return config_error(std::string(impl.by_name[i].first), "two models with this name");
    }
  }
  // Every key starts in the index; a kept key that is busy or cooling is found so on its first
  // draw. Changes made through either pool reach the other's index from now on.
  impl.lineage = previous != nullptr ? previous->impl_->lineage : std::make_shared<Impl::Lineage>();
  if (previous != nullptr) {
    impl.latest.store(previous->impl_->latest.load(std::memory_order_relaxed));
    for (std::size_t m = 0; m < impl.models.size(); ++m) {
      const auto& keys = impl.models[m].keys;
      for (std::size_t k = 0; k < keys.size(); ++k) {
        if (keys[k].use_count() > 1) {
          impl.shared.emplace(keys[k].get(),
                              Target{static_cast<std::uint32_t>(m), static_cast<std::uint32_t>(k)});
        }
      }
    }
  }
  std::lock_guard guard(impl.lineage->mutex);
  if (previous != nullptr) {
    for (const auto& [load, target] : kept) previous->impl_->shared.emplace(load, target);
  }
  impl.lineage->pools.push_back(&impl);
  return pool;
}

std::size_t Pool::model_count() const {
  return impl_->models.size();
}

const ModelSpec& Pool::model(std::size_t index) const {
  return impl_->models[index].spec;
}

std::optional<std::size_t> Pool::find_model(std::string_view name) const {
  const auto& names = impl_->by_name;
  auto it = std::lower_bound(names.begin(), names.end(), name,
                             [](const auto& entry, std::string_view n) { return entry.first < n; });
  if (it == names.end() || it->first != name) return std::nullopt;
  return it->second;
}

std::optional<Target> Pool::find_key(std::string_view model, std::string_view key_id) const {
  const auto m = find_model(model);
  if (!m) return std::nullopt;
  const auto& keys = impl_->models[*m].spec.keys;
  for (std::size_t k = 0; k < keys.size(); ++k) {
    if (keys[k].id == key_id) {
      return Target{static_cast<std::uint32_t>(*m), static_cast<std::uint32_t>(k)};
    }
  }
  return std::nullopt;
}

std::optional<Lease> Pool::try_acquire(Target target, const Demand& demand, TimePoint now) {
  Impl& impl = *impl_;
  if (target.model >= impl.models.size()) return std::nullopt;
  ModelState& model = impl.models[target.model];
  if (target.key >= model.keys.size()) return std::nullopt;
  if (demand.needs_tools && !model.spec.supports_tools) return std::nullopt;
  KeyLoad& load = *model.keys[target.key];
  // The strategy may turn the key away for reasons of its own; limits are checked exactly below.
  if (!model.strategy->weigh(load, demand, now)) return std::nullopt;
  const std::optional<Admission> admission = load.try_admit(demand, now);
  // Taken or refused, the key may have reached a limit: out of the index then.
  impl.sync(target.model, target.key, now);
  if (!admission) {
    // Short of its daily quota's grant: ask for the next one now, not at the next interval.
    if (load.grant_blocked() && impl.grant_listener) impl.grant_listener();
    return std::nullopt;
  }
  model.in_flight.fetch_add(1, std::memory_order_relaxed);
  Lease lease(this, target, now);
  lease.reserved_tokens_ = admission->tokens;
  lease.reserved_bucket_ = admission->bucket;
  lease.breaker_trial_ = admission->trial;
  lease.qps_bucket_ = admission->qps_bucket;
  lease.rpm_bucket_ = admission->rpm_bucket;
  lease.quota_day_ = admission->quota_day;
  return std::optional<Lease>(std::move(lease));
}

void Pool::release(const Lease& lease, const Outcome* outcome, TimePoint now, bool unused) {
  ModelState& model = impl_->models[lease.target_.model];
  KeyLoad& load = *model.keys[lease.target_.key];
  Admission admission{lease.reserved_tokens_, lease.reserved_bucket_, lease.breaker_trial_};
  // The quota day too, so settling replaces the day's estimated tokens with the real use.
  admission.quota_day = lease.quota_day_;
  if (unused) {
    Admission taken = admission;
    taken.qps_bucket = lease.qps_bucket_;
    taken.rpm_bucket = lease.rpm_bucket_;
    load.refund(taken, now);
  } else {
    // Learn first, so a cooldown is in place before the slot shows as free.
    if (outcome != nullptr) load.learn(admission, *outcome, model.spec.cooldown, now);
    load.release(admission, outcome != nullptr);
  }
  model.in_flight.fetch_sub(1, std::memory_order_relaxed);
  impl_->sync(lease.target_.model, lease.target_.key, now);
  if (!unused && impl_->listener) impl_->listener(lease.target_);
}

int Pool::in_flight(Target target) const {
  return load(target).in_flight();
}

int Pool::model_in_flight(std::size_t model) const {
  return impl_->models[model].in_flight.load(std::memory_order_relaxed);
}

const KeyLoad& Pool::load(Target target) const {
  return *impl_->models[target.model].keys[target.key];
}

const Strategy& Pool::strategy(std::size_t model) const {
  return *impl_->models[model].strategy;
}

double Pool::effective_weight(Target target, const Demand& demand, TimePoint now) const {
  const ModelState& model = impl_->models[target.model];
  const double mean = model.spec.auto_weight ? Impl::mean_latency_ns(model) : 0;
  return Impl::key_weight(model, target.key, demand, now, mean);
}

double Pool::effective_model_weight(std::size_t model, TimePoint now) const {
  (void)now;
  return Impl::effective_model_weight(impl_->models[model]);
}

void Pool::set_disabled(Target target, bool disabled) {
  impl_->models[target.model].keys[target.key]->set_disabled(disabled);
  impl_->sync(target.model, target.key, TimePoint{});
}

void Pool::set_drained(Target target, bool drained) {
  impl_->models[target.model].keys[target.key]->set_drained(drained);
  impl_->sync(target.model, target.key, TimePoint{});
}

void Pool::cool_down(Target target, TimePoint until) {
  impl_->models[target.model].keys[target.key]->cool_down(until);
  impl_->sync(target.model, target.key, TimePoint{});
}

void Pool::hold_breaker_open(Target target, TimePoint until) {
  impl_->models[target.model].keys[target.key]->hold_breaker_open(until);
  impl_->sync(target.model, target.key, TimePoint{});
}

void Pool::block_quota(Target target, TimePoint until, TimePoint now) {
  impl_->models[target.model].keys[target.key]->block_quota(until, now);
  impl_->sync(target.model, target.key, now);
}

void Pool::set_release_listener(std::function<void(Target)> listener) {
  impl_->listener = std::move(listener);
}

}  // namespace bc::balance
