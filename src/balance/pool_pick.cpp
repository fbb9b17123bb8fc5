// Pool::candidates(): which targets may serve a demand now, in failover order; and
// Pool::next_available(): when one may, for a request that waits.
//
// A model's keys are drawn from its KeyIndex (balance/key_index.h), which holds only the keys
// that can take a request now, by configured weight: a pick costs O(log keys). Each drawn key
// is checked (the index is a hint, and a demand may not fit a key that has room for a small
// one); one that cannot serve is synced, which takes it out if it cannot serve anything.
// Strategies whose factor follows load (least_request, response_time, or auto_weight) weigh a
// few keys drawn by weight and choose among them by that factor, so a share is the key's weight
// times its factor relative to the keys it is drawn with. A model of at most kScanKeys keys is
// still weighed whole, exactly, as is every model when asked for every candidate and when the
// draws found nothing the demand fits.
#include <algorithm>
#include <limits>

#include "balance/pool_impl.h"

namespace bc::balance {
namespace {

// Keys a load-reading pick draws by weight and then weighs.
constexpr std::size_t kSample = 4;
// Draws per wanted candidate before the exact scan takes over.
constexpr std::size_t kDrawsPerCandidate = 4;

Target target(std::size_t m, std::size_t k) {
  return {static_cast<std::uint32_t>(m), static_cast<std::uint32_t>(k)};
}

bool tried(const Demand& demand, std::size_t m, std::size_t k) {
  return std::find(demand.tried.begin(), demand.tried.end(), target(m, k)) != demand.tried.end();
}

}  // namespace

bool Pool::Impl::append_by_scan(std::size_t m, const Demand& demand, TimePoint now, Rng& rng,
                                bool smooth, std::size_t limit, std::vector<Target>& out) const {
  const ModelState& model = models[m];
  thread_local std::vector<double> weights;
  thread_local std::vector<std::size_t> order;
  if (key_weights(model, demand, now, weights) <= 0) return false;
  for (const Target& t : demand.tried) {
    if (t.model == m) weights[t.key] = 0;
  }
  if (std::none_of(weights.begin(), weights.end(), [](double w) { return w > 0; })) return false;
  if (smooth) {
    const std::size_t k = pick(weights, model.key_sequence.next());
    out.push_back(target(m, k));
    weights[k] = 0;
  }
  if (out.size() < limit) {
    order.clear();
    append_weighted_order(weights, limit - out.size(), rng, order);
    for (std::size_t k : order) out.push_back(target(m, k));
  }
  return true;
}

bool Pool::Impl::append_keys(std::size_t m, const Demand& demand, TimePoint now, Rng& rng,
                             bool smooth, std::size_t limit, std::vector<Target>& out) const {
  if (out.size() >= limit) return false;
  const ModelState& model = models[m];
  const bool every = limit == std::numeric_limits<std::size_t>::max();
  if (every || !model.indexed) {
    return append_by_scan(m, demand, now, rng, smooth, limit, out);
  }
  wake_parked(model, now);
  const std::size_t want = limit - out.size();
  const std::size_t goal = model.reads_load ? std::max(want, kSample) : want;
  thread_local std::vector<std::size_t> drawn;
  thread_local std::vector<std::size_t> pending;
  thread_local std::vector<double> factors;
  drawn.clear();
  factors.clear();
  std::size_t tried_drawn = 0;
  const std::size_t max_draws = kDrawsPerCandidate * goal;
  for (std::size_t draws = 0; drawn.size() < goal && draws < max_draws;) {
    if (model.index.total() == 0) break;
    // The keys still wanted are drawn first and their state fetched side by side, then
    // weighed: in a model of thousands of keys a drawn key's state is not in the cache, and
    // one miss after another was most of a pick's cost.
    pending.clear();
    while (drawn.size() + pending.size() < goal && draws < max_draws) {
      const double u = draws == 0 && smooth ? model.key_sequence.next() : rng.uniform();
      ++draws;
      const auto k = model.index.draw(u);
      if (!k || std::find(drawn.begin(), drawn.end(), *k) != drawn.end() ||
          std::find(pending.begin(), pending.end(), *k) != pending.end()) {
        continue;
      }
      if (tried(demand, m, *k)) {
        ++tried_drawn;
        continue;
      }
      __builtin_prefetch(model.keys[*k].get());
      __builtin_prefetch(&model.weights[*k]);
      pending.push_back(*k);
    }
    for (const std::size_t k : pending) {
      const double w = key_weight(model, k, demand, now, 0);
      if (!(w > 0)) {
        sync(m, k, now);
        continue;
      }
      drawn.push_back(k);
      factors.push_back(w / model.weights[k]);
    }
  }
  if (drawn.empty() || (drawn.size() < want && tried_drawn > 0)) {
    // No key in the index: none can serve. Keys in it that this demand does not fit (a large
    // token estimate), a retry whose tried keys hold most of the weight, or a run of bad luck:
    // the scan decides.
    if (model.index.total() == 0) return false;
    return append_by_scan(m, demand, now, rng, smooth, limit, out);
  }
  std::size_t first = 0;
  if (model.reads_load && drawn.size() > 1) {
    if (model.spec.auto_weight) {
      // The latency factor against the mean of the keys drawn together.
      double sum = 0;
      int n = 0;
      for (std::size_t k : drawn) {
        if (auto latency = model.keys[k]->latency()) {
          sum += static_cast<double>(latency->count());
          ++n;
        }
      }
      const double mean = n > 0 ? sum / n : 0;
      for (std::size_t i = 0; i < drawn.size(); ++i) {
        factors[i] = key_weight(model, drawn[i], demand, now, mean) / model.weights[drawn[i]];
      }
    }
    first = pick(factors, rng.uniform());
    if (first >= drawn.size()) first = 0;
  }
  out.push_back(target(m, drawn[first]));
  for (std::size_t i = 0; i < drawn.size() && out.size() < limit; ++i) {
    if (i != first) out.push_back(target(m, drawn[i]));
  }
  return true;
}

std::vector<Target> Pool::candidates(const Demand& demand, TimePoint now, Rng& rng) const {
  const Impl& impl = *impl_;
  impl.observe(now);
  std::vector<Target> out;
  const std::size_t limit =
      demand.max_candidates > 0 ? demand.max_candidates : std::numeric_limits<std::size_t>::max();
  out.reserve(std::min<std::size_t>(limit, 4));  // a first pick asks for 3: one allocation
  // Per-thread scratch, so a pick allocates only its answer.
  thread_local std::vector<double> model_weights;
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
  for (;;) {
    const std::size_t first = pick(model_weights, u);
    if (first >= model_weights.size()) return out;
    model_weights[first] = 0;
    if (impl.append_keys(first, demand, now, rng, true, limit, out)) break;
  }
  // Then the other models, heavier ones first.
  while (out.size() < limit) {
    order.clear();
    append_weighted_order(model_weights, 1, rng, order);
    if (order.empty()) break;
    impl.append_keys(order.front(), demand, now, rng, false, limit, out);
  }
  return out;
}

std::optional<TimePoint> Pool::next_available(const Demand& demand, TimePoint now) const {
  const Impl& impl = *impl_;
  std::optional<TimePoint> best;
  for (std::size_t m = 0; m < impl.models.size(); ++m) {
    if (!impl.serves(m, demand)) continue;
    const ModelState& model = impl.models[m];
    if (model.indexed && !model.token_limits) {
      // The index knows without a scan (a waiter asks this on every wake, and 10,000 keys
      // took some 120 µs): a key in can take any request now; else the earliest parked key
      // is the first whose time-bound limit ends. Keys out for a slot or a grant come back
      // by a release or a grant, which wake the queue themselves.
      const auto at = model.index.total() > 0 ? std::optional(now) : model.index.earliest_parked();
      if (at && (!best || std::max(*at, now) < *best)) best = std::max(*at, now);
      continue;
    }
    for (const auto& key : model.keys) {
      const KeyLoad& load = *key;
      const std::optional<TimePoint> at = load.next_available(demand, now);
      if (at && (!best || *at < *best)) best = at;
    }
  }
  return best;
}

}  // namespace bc::balance
