#include "balance/pool.h"

#include <algorithm>
#include <cmath>
#include <deque>
#include <limits>
#include <set>
#include <utility>

#include "balance/key_load.h"
#include "balance/selection.h"
#include "balance/strategy.h"

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

// Auto weights: the latency factor is bounded, so one very slow or very fast measurement never
// takes a key out of rotation or gives it everything.
constexpr double kMinAutoLatency = 0.25;
constexpr double kMaxAutoLatency = 4.0;
constexpr double kMinFreeFraction = 0.02;

constexpr std::uint64_t kKeyStep = 0x6a09e667f3bcc908ULL;  // frac(√2)·2^64

}  // namespace

struct ModelState {
  // `adopt` returns the live state to keep for a key (from the pool this one replaces), or
  // null for a fresh one.
  ModelState(ModelSpec s, std::unique_ptr<Strategy> st,
             const std::function<std::shared_ptr<KeyLoad>(const ModelSpec&, const KeySpec&,
                                                          const KeyLimits&)>& adopt)
      : spec(std::move(s)), strategy(std::move(st)), key_sequence(kKeyStep) {
    const KeyLimits limits = KeyLimits::of(spec);
    for (const KeySpec& key : spec.keys) {
      auto kept = adopt ? adopt(spec, key, limits) : nullptr;
      keys.push_back(kept ? std::move(kept) : std::make_shared<KeyLoad>(limits));
      weights.push_back(key.weight);
    }
    if (spec.max_concurrency > 0) {
      max_in_flight = spec.max_concurrency * static_cast<int>(spec.keys.size());
    }
  }

  ModelSpec spec;
  std::unique_ptr<Strategy> strategy;
  // Shared with the pool this one replaced or the one that replaces it on a reload, so a key
  // kept across reloads keeps one set of counters that both generations' leases update.
  std::vector<std::shared_ptr<KeyLoad>> keys;
  std::vector<double> weights;  // the keys' weights, packed: a pick reads them all
  mutable Sequence key_sequence;
  std::atomic<int> in_flight{0};
  int max_in_flight = 0;  // 0: unlimited
};

struct Pool::Impl {
  std::deque<ModelState> models;
  std::vector<std::pair<std::string_view, std::size_t>> by_name;  // sorted
  mutable Sequence model_sequence;
  std::function<void(Target)> listener;

  bool serves(std::size_t m, const Demand& demand) const {
    const ModelState& model = models[m];
    if (demand.model) {
      if (*demand.model != m) return false;
    } else if (model.spec.weight <= 0) {
      return false;  // weight 0: only for requests that name the model
    }
    return !demand.needs_tools || model.spec.supports_tools;
  }

  double model_weight(std::size_t m, const Demand& demand, TimePoint now) const {
    if (!serves(m, demand)) return 0;
    const ModelState& model = models[m];
    return demand.model ? 1.0 : effective_model_weight(model, now);
  }

  static double effective_model_weight(const ModelState& model, TimePoint) {
    double w = model.spec.weight;
    if (model.spec.auto_weight && model.max_in_flight > 0) {
      const double used = static_cast<double>(model.in_flight.load(std::memory_order_relaxed)) /
                          static_cast<double>(model.max_in_flight);
      w *= std::max(kMinFreeFraction, 1.0 - used);
    }
    return w;
  }

  static double mean_latency_ns(const ModelState& model) {
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

  static double key_weight(const ModelState& model, std::size_t k, const Demand& demand,
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

  // Fills `weights` with every key's weight now; returns their sum.
  static double key_weights(const ModelState& model, const Demand& demand, TimePoint now,
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
};

// ---- Lease ----

Lease::Lease(Pool* pool, Target target, TimePoint started)
    : pool_(pool), target_(target), started_(started) {}

Lease::Lease(Lease&& other) noexcept
    : pool_(std::exchange(other.pool_, nullptr)),
      target_(other.target_),
      started_(other.started_),
      reserved_tokens_(other.reserved_tokens_),
      reserved_bucket_(other.reserved_bucket_),
      breaker_trial_(other.breaker_trial_) {}

Lease& Lease::operator=(Lease&& other) noexcept {
  if (this != &other) {
    if (pool_ != nullptr) std::exchange(pool_, nullptr)->release(*this, nullptr, started_);
    pool_ = std::exchange(other.pool_, nullptr);
    target_ = other.target_;
    started_ = other.started_;
    reserved_tokens_ = other.reserved_tokens_;
    reserved_bucket_ = other.reserved_bucket_;
    breaker_trial_ = other.breaker_trial_;
  }
  return *this;
}

Lease::~Lease() {
  if (pool_ != nullptr) pool_->release(*this, nullptr, started_);
}

void Lease::settle(const Outcome& outcome, TimePoint now) {
  if (pool_ == nullptr) return;
  std::exchange(pool_, nullptr)->release(*this, &outcome, now);
}

// ---- Pool ----

Pool::Pool() : impl_(std::make_unique<Impl>()) {}
Pool::~Pool() = default;

Result<std::unique_ptr<Pool>> Pool::create(std::vector<ModelSpec> models, Pool* previous) {
  if (models.size() > std::numeric_limits<std::uint32_t>::max()) {
    return Error::invalid_request("too many models", "invalid_config");
  }
  std::unique_ptr<Pool> pool(new Pool());
  Impl& impl = *pool->impl_;
  // A key of the same model with the same secret and the same limits keeps its live state;
  // what its upstream refused is forgiven (a reload is how an operator says "fixed").
  std::function<std::shared_ptr<KeyLoad>(const ModelSpec&, const KeySpec&, const KeyLimits&)> adopt;
  if (previous != nullptr) {
    adopt = [previous](const ModelSpec& spec, const KeySpec& key,
                       const KeyLimits& limits) -> std::shared_ptr<KeyLoad> {
      const auto m = previous->find_model(spec.name);
      if (!m) return nullptr;
      const ModelState& old = previous->impl_->models[*m];
      for (std::size_t k = 0; k < old.spec.keys.size(); ++k) {
        if (old.spec.keys[k].secret != key.secret) continue;
        const auto& load = old.keys[k];
        if (!(load->limits() == limits)) {
          auto fresh = std::make_shared<KeyLoad>(limits);
          fresh->cool_down(load->cooling_until());  // a rate limit still holds
          return fresh;
        }
        load->set_disabled(false);
        return load;
      }
      return nullptr;
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

std::vector<Target> Pool::candidates(const Demand& demand, TimePoint now, Rng& rng) const {
  const Impl& impl = *impl_;
  std::vector<Target> out;
  const std::size_t limit =
      demand.max_candidates > 0 ? demand.max_candidates : std::numeric_limits<std::size_t>::max();
  out.reserve(std::min<std::size_t>(limit, 4));  // a first pick asks for 3: one allocation
  // Per-thread scratch, so a pick allocates only its answer.
  thread_local std::vector<double> model_weights;
  thread_local std::vector<double> key_weights;
  thread_local std::vector<std::size_t> order;

  model_weights.assign(impl.models.size(), 0);
  bool any = false;
  for (std::size_t m = 0; m < impl.models.size(); ++m) {
    model_weights[m] = impl.model_weight(m, demand, now);
    any = any || model_weights[m] > 0;
  }
  if (!any) return out;

  // The first model: a low-discrepancy draw by model weight among models with a free key. A
  // model found full is dropped and the same draw lands on the rest.
  const double u = impl.model_sequence.next();
  std::size_t first = 0;
  for (;;) {
    first = pick(model_weights, u);
    if (first >= model_weights.size()) return out;
    if (Impl::key_weights(impl.models[first], demand, now, key_weights) > 0) break;
    model_weights[first] = 0;
  }
  const ModelState& model = impl.models[first];
  const std::size_t key = pick(key_weights, model.key_sequence.next());
  out.push_back({static_cast<std::uint32_t>(first), static_cast<std::uint32_t>(key)});
  key_weights[key] = 0;
  model_weights[first] = 0;

  // Then the same model's other free keys, then the other models, heavier ones first.
  auto append_keys = [&](std::size_t m) {
    if (out.size() >= limit) return;
    order.clear();
    append_weighted_order(key_weights, limit - out.size(), rng, order);
    for (std::size_t k : order) {
      out.push_back({static_cast<std::uint32_t>(m), static_cast<std::uint32_t>(k)});
    }
  };
  append_keys(first);
  while (out.size() < limit) {
    order.clear();
    append_weighted_order(model_weights, 1, rng, order);
    if (order.empty()) break;
    const std::size_t m = order.front();
    if (Impl::key_weights(impl.models[m], demand, now, key_weights) > 0) append_keys(m);
  }
  return out;
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
  if (!admission) return std::nullopt;
  model.in_flight.fetch_add(1, std::memory_order_relaxed);
  Lease lease(this, target, now);
  lease.reserved_tokens_ = admission->tokens;
  lease.reserved_bucket_ = admission->bucket;
  lease.breaker_trial_ = admission->trial;
  return std::optional<Lease>(std::move(lease));
}

void Pool::release(const Lease& lease, const Outcome* outcome, TimePoint now) {
  ModelState& model = impl_->models[lease.target_.model];
  KeyLoad& load = *model.keys[lease.target_.key];
  const Admission admission{lease.reserved_tokens_, lease.reserved_bucket_, lease.breaker_trial_};
  // Learn first, so a cooldown is in place before the slot shows as free.
  if (outcome != nullptr) load.learn(admission, *outcome, model.spec.cooldown, now);
  load.release(admission, outcome != nullptr);
  model.in_flight.fetch_sub(1, std::memory_order_relaxed);
  if (impl_->listener) impl_->listener(lease.target_);
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
  return Impl::effective_model_weight(impl_->models[model], now);
}

void Pool::set_disabled(Target target, bool disabled) {
  impl_->models[target.model].keys[target.key]->set_disabled(disabled);
}

void Pool::cool_down(Target target, TimePoint until) {
  impl_->models[target.model].keys[target.key]->cool_down(until);
}

std::optional<TimePoint> Pool::next_available(const Demand& demand, TimePoint now) const {
  const Impl& impl = *impl_;
  std::optional<TimePoint> best;
  for (std::size_t m = 0; m < impl.models.size(); ++m) {
    if (!impl.serves(m, demand)) continue;
    for (const auto& key : impl.models[m].keys) {
      const KeyLoad& load = *key;
      const std::optional<TimePoint> at = load.next_available(demand, now);
      if (at && (!best || *at < *best)) best = at;
    }
  }
  return best;
}

void Pool::set_release_listener(std::function<void(Target)> listener) {
  impl_->listener = std::move(listener);
}

}  // namespace bc::balance
