// Every Prometheus metric family of the gateway, declared once here, and the cheap calls the
// hot path makes. Label sets known at startup (model, key) are bound when Metrics is built, so
// a request touches only atomics; label sets that depend on the request (route, status class)
// are bound once per worker thread by RequestMetrics and cached there.
//
// Thread-safe: every method may be called from any worker thread. /metrics is served by our
// own HTTP server: refresh_pool() then serialize().
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>

#include "balance/pool.h"
#include "core/clock.h"

namespace bc::telemetry {

// One configured model and its keys' public ids, indexed like the balance pool.
struct ModelLabels {
  std::string name;
  std::vector<std::string> key_ids;
  bool rpd = false;  // daily quotas set: bc_key_quota_remaining series for its keys
  bool tpd = false;
};

// How one upstream attempt ended (the `outcome` label of bc_upstream_attempts_total).
enum class AttemptOutcome { kOk, kError, kRateLimited, kTimeout, kCancelled };
std::string_view outcome_label(AttemptOutcome outcome);

// "2xx", "4xx", ... for an HTTP status.
std::string_view status_class(int status);

// The Content-Type of the text exposition format.
inline constexpr std::string_view kExpositionContentType =
    "text/plain; version=0.0.4; charset=utf-8";

// The states a key can be in (balance/capacity.h), one gauge each.
inline constexpr std::size_t kKeyStateCount = 7;

class Metrics {
 public:
  // `per_key` false (metrics.per_key): the per-key families get one series per model, without
  // the `key` label, so a model of thousands of keys stays a handful of series. A model of
  // more than `per_key_max_keys` keys (metrics.per_key_max_keys) gets that even when per_key.
  explicit Metrics(const std::vector<ModelLabels>& models, bool per_key = true,
                   std::size_t per_key_max_keys = static_cast<std::size_t>(-1));
  Metrics(const Metrics&) = delete;
  Metrics& operator=(const Metrics&) = delete;

  // Hot path: label sets bound at construction; an out-of-range target is ignored.
  void attempt(balance::Target target, AttemptOutcome outcome);
  void tokens(balance::Target target, std::int64_t prompt, std::int64_t completion);
  // A retry: an attempt after the first; a failover when it moved to another model.
  void retry(bool failover);
  void queue_wait(Duration waited);
  void time_to_first_token(std::size_t model, Duration ttft);
  void gateway_overhead(Duration overhead);

  // Binds a label set of the per-request families (slow: the family's lock and a label map).
  // Cache the result: see RequestMetrics.
  prometheus::Counter& requests(std::string_view model, std::string_view key,
                                std::string_view route, std::string_view status_class);
  prometheus::Histogram& request_duration(std::string_view route);

  // Sets the gauges sampled at scrape time: in-flight, load factor and state of every key,
  // and the admission queue's length.
  void refresh_pool(const balance::Pool& pool, std::size_t queue_length, TimePoint now);
  // The usage ledger's counts (usage/ledger.h), sampled at scrape time: totals since start.
  struct LedgerCounts {
    std::uint64_t written = 0, dropped = 0, failed = 0;
    std::size_t queued = 0;
    std::uint64_t marks_failed = 0;  // allowance marks the store refused
  };
  void refresh_ledger(const LedgerCounts& counts);
  // Whether shared state (state.backend redis) is degraded, sampled at scrape time.
  void refresh_state(bool degraded);
  // A client's budget left (kind: requests_per_day, tokens_per_day, tokens_per_month). Binds a
  // label set (slow): call it once per client and keep the gauge.
  prometheus::Gauge& budget_remaining(std::string_view client, std::string_view kind);
  // The text exposition format (version 0.0.4) of every family.
  std::string serialize() const;

  const ModelLabels* model(std::size_t index) const {
    return index < models_.size() ? &models_[index] : nullptr;
  }
  // Whether model `m` has series per key.
  bool per_key(std::size_t m) const { return m < per_key_.size() && per_key_[m]; }

 private:
  struct KeyMetrics {
    prometheus::Counter* attempts[5] = {};  // by AttemptOutcome
    prometheus::Counter* prompt_tokens = nullptr;
    prometheus::Counter* completion_tokens = nullptr;
    prometheus::Gauge* in_flight = nullptr;
    prometheus::Gauge* load_factor = nullptr;
    // ok, cooling, quarantined, open, half_open, quota, drained
    prometheus::Gauge* state[kKeyStateCount] = {};
    prometheus::Gauge* quota_remaining[2] = {};  // requests, tokens; bound when rpd / tpd set
  };
  const KeyMetrics* key(balance::Target target) const;

  std::vector<ModelLabels> models_;
  std::vector<bool> per_key_;  // [model]
  std::shared_ptr<prometheus::Registry> registry_;
  prometheus::Family<prometheus::Counter>& requests_;
  prometheus::Family<prometheus::Histogram>& request_duration_;
  prometheus::Family<prometheus::Histogram>& ttft_;
  prometheus::Family<prometheus::Histogram>& overhead_;
  prometheus::Family<prometheus::Counter>& attempts_;
  prometheus::Family<prometheus::Counter>& retries_;
  prometheus::Family<prometheus::Counter>& failovers_;
  prometheus::Family<prometheus::Gauge>& in_flight_;
  prometheus::Family<prometheus::Gauge>& load_factor_;
  prometheus::Family<prometheus::Gauge>& key_state_;
  prometheus::Family<prometheus::Gauge>& queue_length_;
  prometheus::Family<prometheus::Histogram>& queue_wait_;
  prometheus::Family<prometheus::Counter>& tokens_;
  prometheus::Family<prometheus::Gauge>& quota_remaining_;
  prometheus::Family<prometheus::Gauge>& budget_remaining_;

  std::vector<std::vector<KeyMetrics>> keys_;  // [model][key], or [model][0] without per key
  std::vector<prometheus::Histogram*> model_ttft_;
  prometheus::Histogram* overhead_all_ = nullptr;
  prometheus::Counter* retries_all_ = nullptr;
  prometheus::Counter* failovers_all_ = nullptr;
  prometheus::Gauge* queue_length_all_ = nullptr;
  prometheus::Histogram* queue_wait_all_ = nullptr;
  // The ledger's records by fate (written, dropped, failed) and its queue; what the counters
  // showed at the last scrape, to add only the difference.
  prometheus::Counter* ledger_records_[3] = {};
  prometheus::Gauge* ledger_queued_ = nullptr;
  prometheus::Counter* ledger_marks_failed_ = nullptr;
  prometheus::Gauge* state_degraded_ = nullptr;
  std::mutex ledger_mutex_;
  LedgerCounts ledger_seen_;
};

// One worker thread's cache of the per-request label sets. Not thread-safe: one per worker.
class RequestMetrics {
 public:
  explicit RequestMetrics(Metrics& metrics) : metrics_(metrics) {}

  // Counts one finished request. `route` is the route pattern (bounded: never a raw path);
  // `target` the model and key that served it, if any.
  void request(std::string_view route, std::optional<balance::Target> target, int status,
               Duration total);

 private:
  // The bc_requests_total series of one route and status class: bound on first use, by
  // target index, so a lookup costs the same with 4 keys or 10,000.
  struct RouteSeries {
    prometheus::Counter* no_target = nullptr;
    std::vector<std::vector<prometheus::Counter*>> by_target;  // [model][key], or [model][0]
  };
  Metrics& metrics_;
  std::unordered_map<std::string, RouteSeries> requests_;  // by route and status class
  std::unordered_map<std::string, prometheus::Histogram*> durations_;
  std::string scratch_;
};

}  // namespace bc::telemetry
