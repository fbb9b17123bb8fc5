#include "balance/key_load.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <mutex>

namespace bc::balance {
namespace {

using std::chrono::seconds;

constexpr std::int64_t kUnlimited = std::numeric_limits<std::int64_t>::max();
constexpr Clock::rep kNever = std::numeric_limits<Clock::rep>::max();

// max_qps as a window: at most floor(max_qps) starts in any second; below 1 qps, one start
// per 1/max_qps seconds.
std::int64_t qps_count(double max_qps) {
  if (max_qps <= 0) return 0;
  return max_qps >= 1 ? static_cast<std::int64_t>(std::floor(max_qps)) : 1;
}

Duration qps_span(double max_qps) {
  if (max_qps <= 0 || max_qps >= 1) return seconds(1);
  return std::chrono::duration_cast<Duration>(std::chrono::duration<double>(1.0 / max_qps));
}

constexpr int kQpsBuckets = 100;    // 10 ms at 1 s
constexpr int kMinuteBuckets = 60;  // 1 s at 60 s

}  // namespace

struct KeyLoad::Windows {
  explicit Windows(const KeyLimits& limits)
      : qps(qps_count(limits.max_qps), qps_span(limits.max_qps), kQpsBuckets),
        rpm(limits.rpm, seconds(60), kMinuteBuckets),
        tpm(limits.tpm, seconds(60), kMinuteBuckets) {}

  SpinLock lock;  // guards everything below
  Clock::rep last_sample = 0;
  RateWindow qps;
  RateWindow rpm;
  RateWindow tpm;
};

KeyLimits KeyLimits::of(const ModelSpec& spec) {
  return KeyLimits{spec.max_concurrency, spec.max_qps, spec.rpm, spec.tpm,
                   spec.decay_factor,    spec.breaker};
}

KeyLoad::KeyLoad(const KeyLimits& limits)
    : max_concurrency_(limits.max_concurrency),
      windowed_(limits.max_qps > 0 || limits.rpm > 0 || limits.tpm > 0),
      limits_(limits),
      windows_(std::make_unique<Windows>(limits)),
      breaker_(limits.breaker) {
  publish();
}

KeyLoad::~KeyLoad() = default;

TimePoint KeyLoad::cooling_until() const {
  return TimePoint(Duration(cooling_until_.load(std::memory_order_relaxed)));
}

std::optional<std::chrono::nanoseconds> KeyLoad::latency() const {
  const double ns = latency_ns_.load(std::memory_order_relaxed);
  if (ns < 0) return std::nullopt;
  return std::chrono::nanoseconds(static_cast<std::int64_t>(ns));
}

std::int64_t KeyLoad::reservation(const Demand& demand) const {
  std::int64_t tokens = std::max<std::int64_t>(demand.estimated_tokens, 1);
  if (limits_.tpm > 0) tokens = std::min(tokens, limits_.tpm);
  return tokens;
}

void KeyLoad::publish() const {
  const Windows& w = *windows_;
  std::int64_t start_room = kUnlimited;
  Clock::rep recheck = kNever;
  double used = 0;
  for (RateWindow* window : {&windows_->qps, &windows_->rpm, &windows_->tpm}) {
    if (!window->limited()) continue;
    if (window != &w.tpm) start_room = std::min(start_room, window->room());
    if (auto change = window->next_change()) {
      recheck = std::min(recheck, change->time_since_epoch().count());
    }
    used = std::max(
        used, 1.0 - static_cast<double>(window->room()) / static_cast<double>(window->limit()));
  }
  start_room_.store(start_room, std::memory_order_relaxed);
  token_room_.store(w.tpm.limited() ? w.tpm.room() : kUnlimited, std::memory_order_relaxed);
  recheck_at_.store(recheck, std::memory_order_relaxed);
  window_used_.store(used, std::memory_order_relaxed);
}

bool KeyLoad::can_take(const Demand& demand, TimePoint now) const {
  if (disabled() || cooling(now) || !breaker_.may_pass(now)) return false;
  if (const int limit = concurrency_limit(); limit > 0 && in_flight() >= limit) return false;
  if (!windowed_) return true;
  const std::int64_t tokens = reservation(demand);
  // Room only grows between changes, so room at the last change is room now.
  if (start_room_.load(std::memory_order_relaxed) >= 1 &&
      token_room_.load(std::memory_order_relaxed) >= tokens) {
    return true;
  }
  // And no room then is no room now, until something counted leaves a window.
  if (now.time_since_epoch().count() < recheck_at_.load(std::memory_order_relaxed)) return false;
  std::lock_guard guard(windows_->lock);
  const bool fits = windows_fit(tokens, now);
  publish();
  return fits;
}

bool KeyLoad::windows_fit(std::int64_t tokens, TimePoint now) const {
  Windows& w = *windows_;
  return w.qps.fits(1, now) && w.rpm.fits(1, now) && w.tpm.fits(tokens, now);
}

std::optional<Admission> KeyLoad::try_admit(const Demand& demand, TimePoint now) {
  if (disabled() || cooling(now)) return std::nullopt;
  if (const int limit = concurrency_limit(); limit > 0) {
    int current = in_flight_.load(std::memory_order_relaxed);
    do {
      if (current >= limit) return std::nullopt;
    } while (!in_flight_.compare_exchange_weak(current, current + 1, std::memory_order_acq_rel,
                                               std::memory_order_relaxed));
  } else {
    in_flight_.fetch_add(1, std::memory_order_acq_rel);
  }
  Admission admission;
  if (windowed_) {
    const std::int64_t tokens = reservation(demand);
    Windows& w = *windows_;
    std::lock_guard guard(w.lock);
    if (!windows_fit(tokens, now)) {
      publish();
      in_flight_.fetch_sub(1, std::memory_order_acq_rel);
      return std::nullopt;
    }
    // The breaker last: a trial it grants is then never given back unused.
    if (!breaker_.admit(now, admission.trial)) {
      in_flight_.fetch_sub(1, std::memory_order_acq_rel);
      return std::nullopt;
    }
    w.qps.add(1, now);
    w.rpm.add(1, now);
    if (w.tpm.limited()) {
      admission.tokens = tokens;
      admission.bucket = w.tpm.add(tokens, now);
    }
    publish();
    return admission;
  }
  if (!breaker_.admit(now, admission.trial)) {
    in_flight_.fetch_sub(1, std::memory_order_acq_rel);
    return std::nullopt;
  }
  return admission;
}

void KeyLoad::release(const Admission& admission, bool settled) {
  if (!settled) breaker_.abandon(admission.trial);
  in_flight_.fetch_sub(1, std::memory_order_acq_rel);
}

void KeyLoad::learn(const Admission& admission, const Outcome& outcome,
                    std::chrono::milliseconds default_cooldown, TimePoint now) {
  const Clock::rep now_rep = now.time_since_epoch().count();
  {
    Windows& w = *windows_;
    std::lock_guard guard(w.lock);
    const double sample = static_cast<double>(
        std::chrono::duration_cast<std::chrono::nanoseconds>(outcome.latency).count());
    const double old = latency_ns_.load(std::memory_order_relaxed);
    // A failure teaches only that a key is slow, never that it is fast: a quick error says
    // nothing about how the key answers.
    if (sample > 0 && (outcome.ok || sample > old)) {
      if (old < 0) {
        latency_ns_.store(sample, std::memory_order_relaxed);
      } else {
        const double elapsed =
            std::max(0.0, std::chrono::duration<double>(Duration(now_rep - w.last_sample)).count());
        const double keep = std::pow(limits_.decay_factor, 1.0 + elapsed);
        latency_ns_.store(keep * old + (1 - keep) * sample, std::memory_order_relaxed);
      }
      w.last_sample = now_rep;
    }
    if (w.tpm.limited() && outcome.usage) {
      const Usage& u = *outcome.usage;
      const std::int64_t used =
          u.total_tokens > 0 ? u.total_tokens : u.prompt_tokens + u.completion_tokens;
      w.tpm.adjust(admission.bucket, used - admission.tokens, now);
      publish();
    }
  }
  const auto verdict = outcome.ok      ? Breaker::Verdict::kSuccess
                       : outcome.fault ? Breaker::Verdict::kFault
                                       : Breaker::Verdict::kNeutral;
  breaker_.record(admission.trial, verdict, now);
  if (outcome.concurrency_limited) {
    // One fewer than the limit it is held to; a key with no limit of its own learns one from
    // what was running (this request included).
    const int held = concurrency_limit();
    const int base = held > 0 ? held : in_flight();
    lowered_limit_.store(std::max(1, base - 1), std::memory_order_relaxed);
  } else if (outcome.ok && lowered_limit_.load(std::memory_order_relaxed) > 0) {
    lowered_limit_.store(0, std::memory_order_relaxed);
  }
  switch (outcome.action) {
    case KeyAction::kCooldown: {
      const auto length = outcome.cooldown.count() > 0 ? outcome.cooldown : default_cooldown;
      cool_down(now + length);
      break;
    }
    case KeyAction::kDisable:
      set_disabled(true);
      break;
    case KeyAction::kNone:
    case KeyAction::kRefreshCredential:
      break;
  }
}

void KeyLoad::cool_down(TimePoint until) {
  const Clock::rep target = until.time_since_epoch().count();
  Clock::rep current = cooling_until_.load(std::memory_order_relaxed);
  while (current < target &&
         !cooling_until_.compare_exchange_weak(current, target, std::memory_order_relaxed)) {
  }
}

std::int64_t KeyLoad::qps_used(TimePoint now) const {
  std::lock_guard guard(windows_->lock);
  const std::int64_t used = windows_->qps.used(now);
  publish();
  return used;
}

std::int64_t KeyLoad::rpm_used(TimePoint now) const {
  std::lock_guard guard(windows_->lock);
  const std::int64_t used = windows_->rpm.used(now);
  publish();
  return used;
}

std::int64_t KeyLoad::tpm_used(TimePoint now) const {
  std::lock_guard guard(windows_->lock);
  const std::int64_t used = windows_->tpm.used(now);
  publish();
  return used;
}

double KeyLoad::free_fraction() const {
  double used = window_used_.load(std::memory_order_relaxed);
  if (const int limit = concurrency_limit(); limit > 0) {
    used = std::max(used, static_cast<double>(in_flight()) / limit);
  }
  return std::clamp(1.0 - used, 0.0, 1.0);
}

std::optional<TimePoint> KeyLoad::next_available(const Demand& demand, TimePoint now) const {
  if (disabled()) return std::nullopt;
  if (const int limit = concurrency_limit(); limit > 0 && in_flight() >= limit) {
    return std::nullopt;
  }
  TimePoint at = std::max(now, cooling_until());
  switch (breaker_.state(now)) {
    case Breaker::State::kOpen:
      at = std::max(at, *breaker_.open_until());
      break;
    case Breaker::State::kHalfOpen:
      // Only the trial's end can let the next request through; its release wakes the queue.
      if (!breaker_.may_pass(now)) return std::nullopt;
      break;
    case Breaker::State::kClosed:
      break;
  }
  const std::int64_t tokens = reservation(demand);
  Windows& w = *windows_;
  std::lock_guard guard(w.lock);
  // Windows only empty with time (nothing is added meanwhile), so each one's answer at `now`
  // holds, and the latest of them is when all fit.
  for (auto fit : {w.qps.next_fit(1, now), w.rpm.next_fit(1, now), w.tpm.next_fit(tokens, now)}) {
    if (!fit) {
      publish();
      return std::nullopt;
    }
    at = std::max(at, *fit);
  }
  publish();
  return at;
}

}  // namespace bc::balance
