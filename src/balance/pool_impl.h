// The pool's inside, shared by pool.cpp (creation, leases, limits) and pool_pick.cpp
// (candidates). Not part of the interface: include pool.h.
#pragma once

#include <atomic>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "balance/key_index.h"
#include "balance/key_load.h"
#include "balance/pool.h"
#include "balance/selection.h"
#include "balance/strategy.h"

namespace bc::balance {

// Auto weights: the latency factor is bounded, so one very slow or very fast measurement never
// takes a key out of rotation or gives it everything.
inline constexpr double kMinAutoLatency = 0.25;
inline constexpr double kMaxAutoLatency = 4.0;
inline constexpr double kMinFreeFraction = 0.02;
// A model of at most this many keys is weighed whole on every pick (exact, and as cheap as a
// draw at that size); larger ones pick through their KeyIndex.
inline constexpr std::size_t kScanKeys = 32;

struct ModelState {
  using Adopt =
      std::function<std::shared_ptr<KeyLoad>(const ModelSpec&, std::size_t key, const KeyLimits&)>;
  // `adopt` returns the live state to keep for a key (from the pool this one replaces), or
  // null for a fresh one.
  ModelState(ModelSpec s, std::unique_ptr<Strategy> st, const Adopt& adopt);

  ModelSpec spec;
  std::unique_ptr<Strategy> strategy;
  // Shared with the pool this one replaced or the one that replaces it on a reload, so a key
  // kept across reloads keeps one set of counters that both generations' leases update.
  std::vector<std::shared_ptr<KeyLoad>> keys;
  std::vector<double> weights;  // the keys' configured weights, packed
  // The keys that can take a request now, by weight (thread-safe). Kept only when `indexed`.
  mutable KeyIndex index;
  bool indexed = false;  // more than kScanKeys keys
  // Whether a key may refuse a large request it would take a small one of (tpm, tpd): the
  // index, which holds the keys that can take the smallest request, then says too little.
  bool token_limits = false;
  // The strategy's factor or auto_weight follows each key's load: a pick weighs a few keys
  // drawn by weight (or all of them, in a small model) instead of taking the first draw.
  bool reads_load = false;
  mutable Sequence key_sequence;
  std::atomic<int> in_flight{0};
  int max_in_flight = 0;  // 0: unlimited
};

struct Pool::Impl {
  // The pools of one lineage of reloads that are still alive. A key kept across a reload has
  // one KeyLoad in several pools; a change made through one pool (a lease ending) must reach
  // the others' indexes, or a key that freed up would stay out of them.
  struct Lineage {
    std::mutex mutex;
    std::vector<Impl*> pools;
  };

  std::deque<ModelState> models;
  std::vector<std::pair<std::string_view, std::size_t>> by_name;  // sorted
  mutable Sequence model_sequence;
  std::function<void(Target)> listener;
  std::function<void()> grant_listener;  // a key ran short of its daily quota's grant
  // The latest time any call brought: what a change without a time of its own is judged at.
  mutable std::atomic<Clock::rep> latest{0};
  std::shared_ptr<Lineage> lineage;
  // Keys shared with another pool of the lineage, by their KeyLoad; guarded by its mutex.
  std::unordered_map<const KeyLoad*, Target> shared;

  // Notes the time a pick brought; returns the later of it and the latest.
  TimePoint observe(TimePoint now) const;
  // The later of `now` and the latest time noted (a lease's start time may be long past).
  TimePoint at_least_latest(TimePoint now) const;

  bool serves(std::size_t m, const Demand& demand) const;
  double model_weight(std::size_t m, const Demand& demand, TimePoint now) const;
  static double effective_model_weight(const ModelState& model);
  static double mean_latency_ns(const ModelState& model);
  static double key_weight(const ModelState& model, std::size_t k, const Demand& demand,
                           TimePoint now, double mean_latency);
  // Fills `weights` with every key's weight now; returns their sum. O(keys): the exact path.
  static double key_weights(const ModelState& model, const Demand& demand, TimePoint now,
                            std::vector<double>& weights);

  // Puts a key in its model's index or takes it out (and parks it until it can serve again,
  // when only time stands in the way), in this pool and every other of the lineage.
  void sync(std::size_t m, std::size_t k, TimePoint now) const;
  static void sync_one(const ModelState& model, std::size_t k, TimePoint now);
  // Hands back the keys of a model whose parking time has come.
  void wake_parked(const ModelState& model, TimePoint now) const;

  // Appends up to `limit - out.size()` targets of model `m` in failover order; the first by the
  // model's low-discrepancy sequence when `smooth`. False when none can take the demand.
  bool append_keys(std::size_t m, const Demand& demand, TimePoint now, Rng& rng, bool smooth,
                   std::size_t limit, std::vector<Target>& out) const;
  bool append_by_scan(std::size_t m, const Demand& demand, TimePoint now, Rng& rng, bool smooth,
                      std::size_t limit, std::vector<Target>& out) const;
};

}  // namespace bc::balance
