#include "telemetry/live_stats.h"

#include <algorithm>
#include <chrono>
#include <cmath>

namespace bc::telemetry {

namespace {

// Upper bounds of the latency buckets in ms: 1 x 1.5^i; the last bucket has none.
constexpr std::array<double, kLatencyBuckets> bucket_bounds_ms() {
  std::array<double, kLatencyBuckets> b{};
  double bound = 1;
  for (auto& x : b) {
    x = bound;
    bound *= 1.5;
  }
  return b;
}
constexpr auto kBoundsMs = bucket_bounds_ms();

// The same bounds in clock ticks, for the hot path's comparison.
const std::array<Duration::rep, kLatencyBuckets>& bounds_ticks() {
  static const auto ticks = [] {
    std::array<Duration::rep, kLatencyBuckets> t{};
    for (std::size_t i = 0; i < t.size(); ++i) {
      t[i] = std::chrono::duration_cast<Duration>(
                 std::chrono::duration<double, std::milli>(kBoundsMs[i]))
                 .count();
    }
    return t;
  }();
  return ticks;
}

template <typename T>
void add_counts(std::array<std::uint64_t, kLatencyBuckets>& to, const T& now, const T& before) {
  for (std::size_t i = 0; i < kLatencyBuckets; ++i) to[i] += now[i] - before[i];
}

}  // namespace

std::size_t latency_bucket(Duration latency) {
  const auto& bounds = bounds_ticks();
  const auto it = std::lower_bound(bounds.begin(), bounds.end() - 1, latency.count());
  return static_cast<std::size_t>(it - bounds.begin());
}

std::optional<double> bucket_quantile_ms(const std::array<std::uint64_t, kLatencyBuckets>& counts,
                                         double q) {
  std::uint64_t total = 0;
  for (const auto c : counts) total += c;
  if (total == 0) return std::nullopt;
  const double rank = q * static_cast<double>(total);
  double seen = 0;
  for (std::size_t i = 0; i < kLatencyBuckets; ++i) {
    const auto c = static_cast<double>(counts[i]);
    if (c > 0 && seen + c >= rank) {
      const double low = i == 0 ? 0 : kBoundsMs[i - 1];
      // The open-ended last bucket: its lower bound is all that is known.
      if (i == kLatencyBuckets - 1) return low;
      return low + (kBoundsMs[i] - low) * std::clamp((rank - seen) / c, 0.0, 1.0);
    }
    seen += c;
  }
  return kBoundsMs[kLatencyBuckets - 2];
}

LiveStats::LiveStats() = default;

LiveStats::~LiveStats() {
  {
    std::lock_guard lock(stop_mutex_);
    stopping_ = true;
  }
  stop_cv_.notify_all();
  if (sampler_.joinable()) sampler_.join();
}

TrafficCounters* LiveStats::model(std::string_view name) {
  std::lock_guard lock(mutex_);
  for (auto& slot : slots_) {
    if (slot->name == name) return &slot->counters;
  }
  auto slot = std::make_unique<Slot>();
  slot->name = std::string(name);
  slots_.push_back(std::move(slot));
  return &slots_.back()->counters;
}

void LiveStats::record(TrafficCounters* model, bool error, Duration latency) {
  TrafficCounters& c = model != nullptr ? *model : unattributed_;
  c.requests.fetch_add(1, std::memory_order_relaxed);
  if (error) c.errors.fetch_add(1, std::memory_order_relaxed);
  c.latency[latency_bucket(latency)].fetch_add(1, std::memory_order_relaxed);
}

void LiveStats::first_token(TrafficCounters& model, Duration ttft) {
  model.ttft[latency_bucket(ttft)].fetch_add(1, std::memory_order_relaxed);
}

void LiveStats::error(ErrorEntry entry) {
  std::lock_guard lock(errors_mutex_);
  errors_.push_front(std::move(entry));
  if (errors_.size() > kMaxErrors) errors_.pop_back();
}

LiveStats::Snapshot LiveStats::read(const TrafficCounters& c) {
  Snapshot s;
  s.requests = c.requests.load(std::memory_order_relaxed);
  s.errors = c.errors.load(std::memory_order_relaxed);
  for (std::size_t i = 0; i < kLatencyBuckets; ++i) {
    s.latency[i] = c.latency[i].load(std::memory_order_relaxed);
    s.ttft[i] = c.ttft[i].load(std::memory_order_relaxed);
  }
  return s;
}

void LiveStats::sample(std::int64_t unix_s) {
  std::lock_guard lock(mutex_);
  if (series_count_ > 0 && unix_s <= last_sample_) return;
  last_sample_ = unix_s;
  std::uint64_t requests = 0, errors = 0;
  std::array<std::uint64_t, kLatencyBuckets> latency{};
  const auto add = [&](const Snapshot& now, const Snapshot& before) {
    requests += now.requests - before.requests;
    errors += now.errors - before.errors;
    add_counts(latency, now.latency, before.latency);
  };
  constexpr std::size_t kRing = kWindowSeconds + 1;
  for (auto& slot : slots_) {
    const Snapshot now = read(slot->counters);
    const Snapshot before = slot->samples > 0 ? slot->history[(slot->samples - 1) % kRing]
                                              : Snapshot{};  // counted since it was bound
    add(now, before);
    slot->history[slot->samples % kRing] = now;
    ++slot->samples;
  }
  const Snapshot now = read(unattributed_);
  add(now, unattributed_seen_);
  unattributed_seen_ = now;

  SecondSample& s = series_[series_count_ % kSeriesSeconds];
  s.unix_s = unix_s;
  s.requests = static_cast<std::uint32_t>(std::min<std::uint64_t>(requests, UINT32_MAX));
  s.errors = static_cast<std::uint32_t>(std::min<std::uint64_t>(errors, UINT32_MAX));
  s.p50_ms = bucket_quantile_ms(latency, 0.5);
  s.p95_ms = bucket_quantile_ms(latency, 0.95);
  ++series_count_;
}

std::vector<SecondSample> LiveStats::series() const {
  std::lock_guard lock(mutex_);
  const std::size_t n = std::min(series_count_, kSeriesSeconds);
  std::vector<SecondSample> out;
  out.reserve(n);
  for (std::size_t i = series_count_ - n; i < series_count_; ++i) {
    out.push_back(series_[i % kSeriesSeconds]);
  }
  return out;
}

const LiveStats::Slot* LiveStats::find(std::string_view name) const {
  for (const auto& slot : slots_) {
    if (slot->name == name) return slot.get();
  }
  return nullptr;
}

ModelTraffic LiveStats::model_traffic(std::string_view name) const {
  std::lock_guard lock(mutex_);
  ModelTraffic t;
  const Slot* slot = find(name);
  if (slot == nullptr || slot->samples == 0) return t;
  constexpr std::size_t kRing = kWindowSeconds + 1;
  const Snapshot& newest = slot->history[(slot->samples - 1) % kRing];
  // The snapshot `back` samples before the newest; before the first one, all zeros.
  const Snapshot zero{};
  const auto before = [&](std::size_t back) -> const Snapshot& {
    return back >= slot->samples ? zero : slot->history[(slot->samples - 1 - back) % kRing];
  };
  const Snapshot& rate_start = before(kRateSeconds);
  const auto rate_span = static_cast<double>(std::min(kRateSeconds, slot->samples));
  t.requests_per_s = static_cast<double>(newest.requests - rate_start.requests) / rate_span;

  const Snapshot& window_start = before(kWindowSeconds);
  t.requests = newest.requests - window_start.requests;
  if (t.requests > 0) {
    t.error_rate =
        static_cast<double>(newest.errors - window_start.errors) / static_cast<double>(t.requests);
  }
  std::array<std::uint64_t, kLatencyBuckets> latency{}, ttft{};
  add_counts(latency, newest.latency, window_start.latency);
  add_counts(ttft, newest.ttft, window_start.ttft);
  t.p50_ms = bucket_quantile_ms(latency, 0.5);
  t.p95_ms = bucket_quantile_ms(latency, 0.95);
  t.ttft_p50_ms = bucket_quantile_ms(ttft, 0.5);
  t.ttft_p95_ms = bucket_quantile_ms(ttft, 0.95);
  return t;
}

std::vector<ErrorEntry> LiveStats::errors() const {
  std::lock_guard lock(errors_mutex_);
  return {errors_.begin(), errors_.end()};
}

void LiveStats::start_sampler() {
  if (sampler_.joinable()) return;
  sampler_ = std::thread([this] {
    using std::chrono::system_clock;
    std::unique_lock lock(stop_mutex_);
    for (;;) {
      // Just after each whole second of the wall clock: one wake-up a second, idle or not.
      const auto now = system_clock::now();
      const auto next =
          std::chrono::ceil<std::chrono::seconds>(now + std::chrono::milliseconds(1)) +
          std::chrono::milliseconds(5);
      if (stop_cv_.wait_until(lock, next, [this] { return stopping_; })) return;
      const auto second =
          std::chrono::floor<std::chrono::seconds>(system_clock::now().time_since_epoch());
      lock.unlock();
      // The counts gathered during the second that just ended.
      sample(second.count() - 1);
      lock.lock();
    }
  });
}

}  // namespace bc::telemetry
