#include "balance/capacity.h"

#include <algorithm>
#include <chrono>

#include "balance/key_load.h"
#include "balance/strategy.h"

namespace bc::balance {
namespace {

struct Gauge {
  double current = 0;
  double max = 0;
};

Gauge gauge(const KeyLoad& load, Capacity capacity, TimePoint now) {
  const KeyLimits& limits = load.limits();
  switch (capacity) {
    case Capacity::kQps:
      return {static_cast<double>(load.qps_used(now)), limits.max_qps};
    case Capacity::kTokens:
      if (limits.tpm > 0) {
        return {static_cast<double>(load.tpm_used(now)), static_cast<double>(limits.tpm)};
      }
      return {static_cast<double>(load.rpm_used(now)), static_cast<double>(limits.rpm)};
    case Capacity::kConcurrency:
      break;
  }
  // The limit the key is held to now: lower than configured after a concurrency error.
  return {static_cast<double>(load.in_flight()), static_cast<double>(load.concurrency_limit())};
}

std::string_view state_of(const KeyLoad& load, TimePoint now) {
  if (load.disabled()) return "quarantined";
  if (load.drained()) return "drained";
  if (load.cooling(now)) return "cooling";
  if (load.at_quota(now)) return "quota";
  switch (load.breaker().state(now)) {
    case Breaker::State::kOpen:
      return "open";
    case Breaker::State::kHalfOpen:
      return "half_open";
    case Breaker::State::kClosed:
      break;
  }
  return "ok";
}

KeyReport report_key(const Pool& pool, Target target, TimePoint now) {
  const ModelSpec& spec = pool.model(target.model);
  const KeyLoad& load = pool.load(target);
  const Gauge g = gauge(load, pool.strategy(target.model).capacity(), now);
  KeyReport r;
  r.id = spec.keys[target.key].id;
  r.weight = spec.keys[target.key].weight;
  Demand demand;
  demand.model = target.model;
  r.effective_weight = pool.effective_weight(target, demand, now);
  r.current = g.current;
  r.max = g.max;
  r.in_flight = load.in_flight();
  r.state = state_of(load, now);
  if (r.state == "cooling") r.remaining = load.cooling_until() - now;
  if (r.state == "open") r.remaining = *load.breaker().open_until() - now;
  if (r.state == "quota") r.remaining = load.quota_until() - now;
  r.rpd = load.limits().rpd;
  r.tpd = load.limits().tpd;
  if (r.rpd > 0 || r.tpd > 0) {
    const QuotaUse use = load.quota_use();
    r.requests_today = use.requests;
    r.tokens_today = use.tokens;
    r.quota_day_end_ms = use.day_end_ms;
  }
  if (auto latency = load.latency()) {
    r.latency_ms = std::chrono::duration<double, std::milli>(*latency).count();
  }
  return r;
}

}  // namespace

ModelReport model_report(const Pool& pool, std::size_t model, TimePoint now) {
  const ModelSpec& spec = pool.model(model);
  ModelReport r;
  r.name = spec.name;
  r.type = capacity_name(pool.strategy(model).capacity());
  r.strategy = spec.strategy;
  r.weight = spec.weight;
  r.in_flight = pool.model_in_flight(model);
  bool unlimited = false;
  bool any_free = false;
  for (std::uint32_t k = 0; k < spec.keys.size(); ++k) {
    KeyReport key = report_key(pool, {static_cast<std::uint32_t>(model), k}, now);
    r.current += key.current;
    if (key.max <= 0) unlimited = true;
    if (key.state != "quarantined") r.max += key.max;
    any_free = any_free || key.effective_weight > 0;
    r.keys.push_back(std::move(key));
  }
  if (unlimited) r.max = 0;
  r.effective_weight = any_free ? pool.effective_model_weight(model, now) : 0;
  return r;
}

CapacityReport capacity_report(const Pool& pool, TimePoint now, const ModelFilter& include) {
  CapacityReport r;
  for (std::size_t m = 0; m < pool.model_count(); ++m) {
    if (include && !include(pool.model(m).name)) continue;
    ModelReport model = model_report(pool, m, now);
    r.total_max[std::string(model.type)] += model.max;
    r.details.push_back(std::move(model));
  }
  r.load_percent = load_percent(pool, now, include);
  return r;
}

double load_percent(const Pool& pool, TimePoint now, const ModelFilter& include) {
  double sum = 0;
  int counted = 0;
  for (std::size_t m = 0; m < pool.model_count(); ++m) {
    if (include && !include(pool.model(m).name)) continue;
    const Capacity capacity = pool.strategy(m).capacity();
    for (std::uint32_t k = 0; k < pool.model(m).keys.size(); ++k) {
      const KeyLoad& load = pool.load({static_cast<std::uint32_t>(m), k});
      if (load.disabled() || load.drained()) continue;
      const Gauge g = gauge(load, capacity, now);
      if (g.max <= 0) continue;
      const bool out = load.cooling(now) || load.breaker().state(now) == Breaker::State::kOpen;
      sum += out ? 1.0 : std::min(1.0, g.current / g.max);
      ++counted;
    }
  }
  return counted > 0 ? 100.0 * sum / counted : 0;
}

std::optional<KeyReport> key_report(const Pool& pool, std::string_view model,
                                    std::string_view key_id, TimePoint now) {
  const std::optional<std::size_t> m = pool.find_model(model);
  if (!m) return std::nullopt;
  const auto& keys = pool.model(*m).keys;
  for (std::uint32_t k = 0; k < keys.size(); ++k) {
    if (keys[k].id == key_id) return report_key(pool, {static_cast<std::uint32_t>(*m), k}, now);
  }
  return std::nullopt;
}

void apply_shared_in_flight(const Pool& pool, std::size_t model, std::size_t k, KeyReport& key,
                            const SharedInFlight& shared) {
  const std::optional<int> all = shared(model, k);
  if (!all) return;
  key.in_flight = *all;
  if (pool.strategy(model).capacity() == Capacity::kConcurrency) key.current = *all;
}

void apply_shared_in_flight(const Pool& pool, CapacityReport& report,
                            const SharedInFlight& shared) {
  double sum = 0;
  int counted = 0;
  for (ModelReport& m : report.details) {
    const std::optional<std::size_t> index = pool.find_model(m.name);
    if (!index) continue;
    m.current = 0;
    for (std::size_t k = 0; k < m.keys.size(); ++k) {
      KeyReport& key = m.keys[k];
      const int local = key.in_flight;
      apply_shared_in_flight(pool, *index, k, key, shared);
      m.in_flight += key.in_flight - local;
      m.current += key.current;
      if (key.state == "quarantined" || key.state == "drained" || key.max <= 0) continue;
      const bool out = key.state == "cooling" || key.state == "open";
      sum += out ? 1.0 : std::min(1.0, key.current / key.max);
      ++counted;
    }
  }
  report.load_percent = counted > 0 ? 100.0 * sum / counted : 0;
}

}  // namespace bc::balance
