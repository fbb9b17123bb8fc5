// What the live dashboard shows of traffic (GET /admin/dashboard, docs/dashboard.md): per model,
// requests per second, error rate and latency and time-to-first-token percentiles over the last
// minute; for the whole gateway the last 15 minutes, one sample a second, in fixed rings; and
// the latest errors.
//
// Cost on the request path: record() and first_token() bump relaxed atomics of counters bound
// once per model (no lock, no allocation); a failed request also appends to a bounded list
// under a short lock. A sampler thread wakes once a second, reads the cumulative counters and
// stores what changed; readers take the sampler's lock. Nothing here grows with traffic.
//
// One LiveStats lives as long as the service, so a reload keeps the series: models are bound
// by name, and a model that a reload removes keeps its counters (they just stop moving).
#pragma once

#include <array>
#include <atomic>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "core/clock.h"

namespace bc::telemetry {

// Latency buckets: upper bounds 1 ms x 1.5^i, the last open-ended (about 4 minutes and over).
inline constexpr std::size_t kLatencyBuckets = 32;

// Cumulative counts of one model's finished requests. Bound once (LiveStats::model) and kept.
struct TrafficCounters {
  std::atomic<std::uint64_t> requests{0};
  std::atomic<std::uint64_t> errors{0};
  std::array<std::atomic<std::uint64_t>, kLatencyBuckets> latency{};
  std::array<std::atomic<std::uint64_t>, kLatencyBuckets> ttft{};
};

// One failed request, as the dashboard lists it. Never a key: `key` is its public id.
struct ErrorEntry {
  std::int64_t unix_ms = 0;
  std::string model;
  std::string key;
  std::string error_class;  // telemetry::error_class of the status
  int status = 0;
  std::string message;
};

// One second of the whole gateway.
struct SecondSample {
  std::int64_t unix_s = 0;
  std::uint32_t requests = 0;
  std::uint32_t errors = 0;
  std::optional<double> p50_ms;  // nullopt: no request finished that second
  std::optional<double> p95_ms;
};

// One model over the recent past (see LiveStats::model_traffic).
struct ModelTraffic {
  double requests_per_s = 0;   // over the last kRateSeconds
  std::uint64_t requests = 0;  // over the last kWindowSeconds
  double error_rate = 0;       // errors / requests over the last kWindowSeconds; 0 without any
  std::optional<double> p50_ms, p95_ms;            // latency, last kWindowSeconds
  std::optional<double> ttft_p50_ms, ttft_p95_ms;  // streams' first token, last kWindowSeconds
};

// The q-quantile (0 < q < 1) of counts per latency bucket, interpolated within its bucket;
// nullopt when the counts are all zero.
std::optional<double> bucket_quantile_ms(const std::array<std::uint64_t, kLatencyBuckets>& counts,
                                         double q);
// The bucket a latency falls in.
std::size_t latency_bucket(Duration latency);

class LiveStats {
 public:
  static constexpr std::size_t kSeriesSeconds = 900;  // 15 minutes
  static constexpr std::size_t kWindowSeconds = 60;
  static constexpr std::size_t kRateSeconds = 5;
  static constexpr std::size_t kMaxErrors = 50;

  LiveStats();
  ~LiveStats();  // stops the sampler
  LiveStats(const LiveStats&) = delete;
  LiveStats& operator=(const LiveStats&) = delete;

  // The counters of the model named `name`, created on first use. Slow (a lock and a search):
  // bind once per model and keep the pointer, which stays valid as long as this LiveStats.
  TrafficCounters* model(std::string_view name);

  // Hot path. `model` nullptr: a request that reached no model (counted in the series only).
  // `error`: the gateway or an upstream failed it (5xx) or no key could take it (429).
  void record(TrafficCounters* model, bool error, Duration latency);
  void first_token(TrafficCounters& model, Duration ttft);
  // A failed request for the list of latest errors (the newest kMaxErrors are kept).
  void error(ErrorEntry entry);

  // Runs a thread that calls sample() once a second with the wall clock, until destruction.
  void start_sampler();
  // Takes one sample for second `unix_s` (the sampler's job; tests call it themselves). A
  // second not after the previous sample's is ignored.
  void sample(std::int64_t unix_s);

  // The samples of the last kSeriesSeconds, oldest first (at most one per second sampled).
  std::vector<SecondSample> series() const;
  // The figures of the model named `name` (zeros for a model never seen).
  ModelTraffic model_traffic(std::string_view name) const;
  // The latest errors, newest first.
  std::vector<ErrorEntry> errors() const;

 private:
  struct Snapshot {
    std::uint64_t requests = 0, errors = 0;
    std::array<std::uint64_t, kLatencyBuckets> latency{}, ttft{};
  };
  struct Slot {
    std::string name;
    TrafficCounters counters;
    // The cumulative counts at each of the last kWindowSeconds + 1 samples, a ring.
    std::array<Snapshot, kWindowSeconds + 1> history{};
    std::size_t samples = 0;  // taken so far (the ring is full past its size)
  };
  static Snapshot read(const TrafficCounters& c);
  const Slot* find(std::string_view name) const;  // under mutex_

  mutable std::mutex mutex_;  // slots_ (the list; the counters are atomics), rings, last_sample_
  std::vector<std::unique_ptr<Slot>> slots_;
  TrafficCounters unattributed_;
  Snapshot unattributed_seen_;
  std::array<SecondSample, kSeriesSeconds> series_{};
  std::size_t series_count_ = 0;  // samples taken so far
  std::int64_t last_sample_ = 0;

  mutable std::mutex errors_mutex_;
  std::deque<ErrorEntry> errors_;

  std::mutex stop_mutex_;
  std::condition_variable stop_cv_;
  bool stopping_ = false;
  std::thread sampler_;
};

}  // namespace bc::telemetry
