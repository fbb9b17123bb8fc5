// Load and capacity reports for the seed's endpoints (/llm/system-load, /llm/system-capacity,
// /llm/key-load/<model>/<key-id>, /llm/model-load/<model>). Plain structs: the api layer
// renders them as JSON. Reports carry the key's public id only, never the secret.
//
// Each model is measured in its strategy's capacity (strategy.h): requests in flight against
// max_concurrency, starts in the last second against max_qps, or tokens in the last minute
// against tpm (requests against rpm when tpm is not set). A max of 0 means unlimited.
#pragma once

#include <cstddef>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "balance/pool.h"
#include "core/clock.h"

namespace bc::balance {

struct KeyReport {
  std::string id;               // the public id
  double weight = 0;            // configured
  double effective_weight = 0;  // what selection gives it now; 0: it cannot take a request
  double current = 0;           // in the model's capacity type
  double max = 0;               // 0: unlimited
  int in_flight = 0;
  // "ok"; "cooling" (rate limited); "quarantined" (the upstream refused the key, until an
  // operator acts or a reload); "drained" (an operator drained it: no new requests, those in
  // flight finish); "open" (its circuit breaker took it out after repeated
  // upstream faults); "half_open" (one trial request decides whether it comes back); "quota"
  // (its daily rpd or tpd is used up, until the quota day ends).
  std::string_view state;
  // For "cooling", "open" and "quota": how long until the key may take traffic again.
  std::optional<Duration> remaining;
  // Daily quotas (0: not set) and their use in the current quota day, which ends at
  // quota_day_end_ms (Unix ms; 0: no request counted yet).
  std::int64_t rpd = 0;
  std::int64_t tpd = 0;
  std::int64_t requests_today = 0;
  std::int64_t tokens_today = 0;
  std::int64_t quota_day_end_ms = 0;
  std::optional<double> latency_ms;  // the latency EWMA, once measured
};

struct ModelReport {
  std::string name;
  std::string_view type;  // "concurrency", "qps" or "tokens"
  std::string strategy;
  double current = 0;           // sum over keys
  double max = 0;               // sum over usable keys; 0 when any key is unlimited
  double weight = 0;            // model_weight as configured
  double effective_weight = 0;  // with auto weights and free keys; 0 when no key is free
  int in_flight = 0;
  std::vector<KeyReport> keys;
};

struct CapacityReport {
  double load_percent = 0;
  std::map<std::string, double, std::less<>> total_max;  // per capacity type
  std::vector<ModelReport> details;
};

// Which models a report covers, by name (a client's allowed models); empty: every model.
using ModelFilter = std::function<bool(std::string_view model)>;

// How loaded the pool's models are, 0-100: the mean over usable keys with a limit of each
// key's used fraction (a cooling or open key counts as full; quarantined, drained and
// unlimited keys are left out).
double load_percent(const Pool& pool, TimePoint now, const ModelFilter& include = {});
// The models `include` keeps, and the totals over them.
CapacityReport capacity_report(const Pool& pool, TimePoint now, const ModelFilter& include = {});
ModelReport model_report(const Pool& pool, std::size_t model, TimePoint now);
// One key by model name and public id; nullopt when either is unknown.
std::optional<KeyReport> key_report(const Pool& pool, std::string_view model,
                                    std::string_view key_id, TimePoint now);

// Counted over every instance (state: redis): the requests in flight on a key, or nullopt to
// keep this instance's figure; by model index in the pool and key index in the model.
using SharedInFlight = std::function<std::optional<int>(std::size_t model, std::size_t key)>;
// Replaces in `key` (key `k` of the pool's model `model`) the in-flight figure, and the current
// one when the model counts concurrency, with the shared one when `shared` has it.
void apply_shared_in_flight(const Pool& pool, std::size_t model, std::size_t k, KeyReport& key,
                            const SharedInFlight& shared);
// The same over a whole report (whose models are the pool's, filtered), the models' sums and
// its load percent following: the mean of each usable key's used fraction, by the keys'
// reported states (cooling or open: full; quarantined, drained and unlimited: left out).
void apply_shared_in_flight(const Pool& pool, CapacityReport& report, const SharedInFlight& shared);

}  // namespace bc::balance
