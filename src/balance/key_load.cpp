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
  RateWindow qps;
  RateWindow rpm;
  RateWindow tpm;
  QuotaUse quota;                // the current quota day's counts
  Clock::rep quota_day_end = 0;  // that day's end on the steady clock
  bool quota_gated = false;      // admission also stays inside `grant`
  QuotaGrant grant;
  // Until when the limits shared with other instances say the key's day is used up (block_quota).
  Clock::rep shared_quota_until = 0;
};

KeyLimits KeyLimits::of(const ModelSpec& spec) {
  KeyLimits l;
  l.max_concurrency = spec.max_concurrency;
  l.max_qps = spec.max_qps;
  l.rpm = spec.rpm;
  l.tpm = spec.tpm;
  l.rpd = spec.rpd;
  l.tpd = spec.tpd;
  l.quota_reset_hour = spec.quota_reset_hour;
  l.quota_zone = spec.quota_zone;
  l.decay_factor = spec.decay_factor;
  l.breaker = spec.breaker;
  return l;
}

KeyLoad::KeyLoad(const KeyLimits& limits)
    : max_concurrency_(limits.max_concurrency),
      windowed_(limits.max_qps > 0 || limits.rpm > 0 || limits.tpm > 0 || limits.rpd > 0 ||
                limits.tpd > 0),
      quota_limited_(limits.rpd > 0 || limits.tpd > 0),
      breaker_(limits.breaker),
      decay_factor_(limits.decay_factor),
      limits_(limits),
      windows_(std::make_unique<Windows>(limits)) {
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

TimePoint KeyLoad::quota_until() const {
  return TimePoint(Duration(quota_until_.load(std::memory_order_relaxed)));
}

QuotaUse KeyLoad::quota_use() const {
  std::lock_guard guard(windows_->lock);
  return windows_->quota;
}

void KeyLoad::roll_quota_day(std::int64_t wall_ms, TimePoint now) {
  Windows& w = *windows_;
  QuotaUse& q = w.quota;
  if (wall_ms >= q.day_end_ms || wall_ms < q.day_start_ms) {
    const TimeWindow day = day_window(wall_ms, limits_.quota_reset_hour, limits_.quota_zone);
    // A wall clock set back into the day before keeps today's counts: never fewer counted.
    if (day.start_ms > q.day_start_ms) q = QuotaUse{0, 0, day.start_ms, day.end_ms};
  }
  w.quota_day_end =
      (now + std::chrono::milliseconds(q.day_end_ms - wall_ms)).time_since_epoch().count();
}

bool KeyLoad::quota_fits(std::int64_t tokens, std::int64_t wall_ms, TimePoint now) {
  if (!quota_limited_ || wall_ms == 0) return true;
  Windows& w = *windows_;
  roll_quota_day(wall_ms, now);
  const QuotaUse& q = w.quota;
  update_quota_block(now);
  const bool requests_fit = limits_.rpd <= 0 || q.requests + 1 <= limits_.rpd;
  // One request larger than the whole day's tokens may still run on an unused day.
  const std::int64_t reserve = limits_.tpd > 0 ? std::min(tokens, limits_.tpd) : 0;
  const bool tokens_fit = limits_.tpd <= 0 || q.tokens + reserve <= limits_.tpd;
  if (!requests_fit || !tokens_fit || !w.quota_gated) return requests_fit && tokens_fit;
  QuotaGrant& g = w.grant;
  const bool granted = g.day_start_ms == q.day_start_ms &&
                       (limits_.rpd <= 0 || q.requests + 1 <= g.requests) &&
                       (limits_.tpd <= 0 || q.tokens + reserve <= g.tokens);
  if (!granted) {
    g.blocked = true;
    g.wanted_tokens = std::max(g.wanted_tokens, reserve);
    update_quota_block(now);
  }
  return granted;
}

void KeyLoad::update_quota_block(TimePoint now) {
  const Windows& w = *windows_;
  const QuotaUse& q = w.quota;
  const bool full = (limits_.rpd > 0 && q.requests >= limits_.rpd) ||
                    (limits_.tpd > 0 && q.tokens >= limits_.tpd);
  Clock::rep until = full ? w.quota_day_end : 0;
  if (w.shared_quota_until > now.time_since_epoch().count()) {
    until = std::max(until, w.shared_quota_until);
  }
  quota_until_.store(until, std::memory_order_relaxed);
  const QuotaGrant& g = w.grant;
  const bool short_of_grant =
      w.quota_gated && !full &&
      (g.blocked || g.day_start_ms != q.day_start_ms ||
       (limits_.rpd > 0 && q.requests >= g.requests) || (limits_.tpd > 0 && q.tokens >= g.tokens));
  grant_blocked_.store(short_of_grant, std::memory_order_relaxed);
}

void KeyLoad::block_quota(TimePoint until, TimePoint now) {
  if (!quota_limited_) return;
  std::lock_guard guard(windows_->lock);
  windows_->shared_quota_until =
      std::max(windows_->shared_quota_until, until.time_since_epoch().count());
  update_quota_block(now);
}

void KeyLoad::seed_quota(std::int64_t wall_ms, TimePoint now, std::int64_t requests,
                         std::int64_t tokens) {
  if (!quota_limited_) return;
  std::lock_guard guard(windows_->lock);
  roll_quota_day(wall_ms, now);
  windows_->quota.requests = std::max(windows_->quota.requests, requests);
  windows_->quota.tokens = std::max(windows_->quota.tokens, tokens);
  update_quota_block(now);
}

void KeyLoad::gate_quota() {
  if (!quota_limited_) return;
  std::lock_guard guard(windows_->lock);
  windows_->quota_gated = true;
  update_quota_block(TimePoint{});
}

bool KeyLoad::quota_gated() const {
  std::lock_guard guard(windows_->lock);
  return windows_->quota_gated;
}

bool KeyLoad::grant_quota(std::int64_t wall_ms, TimePoint now, std::int64_t day_start_ms,
                          std::int64_t requests, std::int64_t tokens) {
  if (!quota_limited_) return false;
  std::lock_guard guard(windows_->lock);
  Windows& w = *windows_;
  roll_quota_day(wall_ms, now);
  if (day_start_ms != w.quota.day_start_ms) return false;
  const bool was_blocked = grant_blocked();
  QuotaGrant& g = w.grant;
  if (g.day_start_ms != day_start_ms) g = QuotaGrant{day_start_ms, 0, 0, 0, false};
  g.requests = std::max(g.requests, requests);
  g.tokens = std::max(g.tokens, tokens);
  g.blocked = false;
  g.wanted_tokens = 0;
  update_quota_block(now);
  return was_blocked && !grant_blocked();
}

QuotaGrant KeyLoad::quota_grant() const {
  std::lock_guard guard(windows_->lock);
  return windows_->grant;
}

bool KeyLoad::can_take(const Demand& demand, TimePoint now) const {
  if (disabled() || drained() || cooling(now) || at_quota(now) || grant_blocked() ||
      !breaker_.may_pass(now)) {
    return false;
  }
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
  if (disabled() || drained() || cooling(now) || (at_quota(now) && demand.wall_ms != 0)) {
    return std::nullopt;
  }
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
    if (!windows_fit(tokens, now) || !quota_fits(tokens, demand.wall_ms, now)) {
      publish();
      in_flight_.fetch_sub(1, std::memory_order_acq_rel);
      return std::nullopt;
    }
    // The breaker last: a trial it grants is then never given back unused.
    if (!breaker_.admit(now, admission.trial)) {
      in_flight_.fetch_sub(1, std::memory_order_acq_rel);
      return std::nullopt;
    }
    admission.qps_bucket = w.qps.add(1, now);
    admission.rpm_bucket = w.rpm.add(1, now);
    if (w.tpm.limited()) {
      admission.tokens = tokens;
      admission.bucket = w.tpm.add(tokens, now);
    }
    if (quota_limited_ && demand.wall_ms != 0) {
      // Reserved now, so concurrent requests cannot overshoot; learn() settles the tokens.
      admission.tokens = tokens;
      admission.quota_day = w.quota.day_start_ms;
      w.quota.requests += 1;
      w.quota.tokens += tokens;
      update_quota_block(now);
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

void KeyLoad::refund(const Admission& admission, TimePoint now) {
  if (windowed_) {
    Windows& w = *windows_;
    std::lock_guard guard(w.lock);
    if (w.qps.limited()) w.qps.adjust(admission.qps_bucket, -1, now);
    if (w.rpm.limited()) w.rpm.adjust(admission.rpm_bucket, -1, now);
    if (w.tpm.limited() && admission.tokens > 0) {
      w.tpm.adjust(admission.bucket, -admission.tokens, now);
    }
    if (admission.quota_day != 0 && admission.quota_day == w.quota.day_start_ms) {
      w.quota.requests = std::max<std::int64_t>(0, w.quota.requests - 1);
      w.quota.tokens = std::max<std::int64_t>(0, w.quota.tokens - admission.tokens);
      update_quota_block(now);
    }
    publish();
  }
  release(admission, false);
}

void KeyLoad::learn(const Admission& admission, const Outcome& outcome,
                    std::chrono::milliseconds default_cooldown, TimePoint now) {
  const Clock::rep now_rep = now.time_since_epoch().count();
  const double sample = static_cast<double>(
      std::chrono::duration_cast<std::chrono::nanoseconds>(outcome.latency).count());
  if (sample > 0) {
    // Under the latency's own lock, beside it in the key's second cache line: a key without
    // rate windows never touches its windows' block on the request path (at 10,000 keys that
    // block is not in the cache, and its lock was a miss on every settled request).
    std::lock_guard guard(latency_lock_);
    const double old = latency_ns_.load(std::memory_order_relaxed);
    // A failure teaches only that a key is slow, never that it is fast: a quick error says
    // nothing about how the key answers.
    if (outcome.ok || sample > old) {
      if (old < 0) {
        latency_ns_.store(sample, std::memory_order_relaxed);
      } else {
        const double elapsed =
            std::max(0.0, std::chrono::duration<double>(Duration(now_rep - last_sample_)).count());
        const double keep = std::pow(decay_factor_, 1.0 + elapsed);
        latency_ns_.store(keep * old + (1 - keep) * sample, std::memory_order_relaxed);
      }
      last_sample_ = now_rep;
    }
  }
  if (outcome.usage && windowed_) {
    Windows& w = *windows_;
    std::lock_guard guard(w.lock);
    if (w.tpm.limited() || admission.quota_day != 0) {
      const Usage& u = *outcome.usage;
      const std::int64_t used =
          u.total_tokens > 0 ? u.total_tokens : u.prompt_tokens + u.completion_tokens;
      if (w.tpm.limited()) w.tpm.adjust(admission.bucket, used - admission.tokens, now);
      // The real use replaces the reservation, in the day it was reserved in.
      if (admission.quota_day != 0 && admission.quota_day == w.quota.day_start_ms) {
        w.quota.tokens = std::max<std::int64_t>(0, w.quota.tokens + used - admission.tokens);
        update_quota_block(now);
      }
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
  // Short of its grant: the next grant_quota() (the ledger's writer) wakes the queue.
  if (disabled() || drained() || grant_blocked()) return std::nullopt;
  if (const int limit = concurrency_limit(); limit > 0 && in_flight() >= limit) {
    return std::nullopt;
  }
  TimePoint at = std::max(now, cooling_until());
  if (at_quota(now)) at = std::max(at, quota_until());
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
