// The live load of one key and the limits it must stay inside. Every configured limit is kept
// whatever the model's strategy: requests in flight (max_concurrency), starts per second
// (max_qps), requests and tokens per minute (rpm, tpm). Cooling down and disabled keys take
// nothing. Strategies read this state to weigh a key; only the pool changes it.
//
// Thread-safe. What a pick reads sits in one cache line of atomics: in-flight count, cooldown,
// disabled, latency, and a summary of the rate windows published after every change. The
// windows themselves change under a per-key spin lock held for a few instructions, the latency
// average under one of its own. can_take() answers from the summary and takes the lock only for a
// full key whose windows may have made room since; try_admit() always decides under the lock.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>

#include "balance/breaker.h"
#include "balance/pool.h"
#include "balance/rate_window.h"
#include "balance/spin_lock.h"
#include "core/clock.h"

namespace bc::balance {

struct KeyLimits {
  int max_concurrency = 0;  // 0: unlimited
  double max_qps = 0;       // 0: unlimited
  std::int64_t rpm = 0;     // 0: unlimited
  std::int64_t tpm = 0;     // 0: unlimited
  std::int64_t rpd = 0;     // per quota day; 0: unlimited
  std::int64_t tpd = 0;     // per quota day; 0: unlimited
  int quota_reset_hour = 0;
  TimeZone quota_zone;
  double decay_factor = 0.8;
  BreakerSettings breaker;

  static KeyLimits of(const ModelSpec& spec);
  friend bool operator==(const KeyLimits&, const KeyLimits&) = default;
};

// What try_admit() took, handed back on settle.
struct Admission {
  std::int64_t tokens = 0;      // the reserved estimate
  std::int64_t bucket = 0;      // where in the token window it sits
  bool trial = false;           // the half-open trial of the breaker
  std::int64_t quota_day = 0;   // start (Unix ms) of the quota day it counted in; 0: none
  std::int64_t qps_bucket = 0;  // where in the QPS and RPM windows its start sits (refund)
  std::int64_t rpm_bucket = 0;
};

// A key's use of its daily quotas (rpd, tpd) in the current quota day.
struct QuotaUse {
  std::int64_t requests = 0;
  std::int64_t tokens = 0;
  std::int64_t day_start_ms = 0;  // 0: no day counted yet
  std::int64_t day_end_ms = 0;    // the next reset, Unix ms
};

// The part of a key's daily quota the usage ledger has made durable ahead of use (see
// usage/allowance.h). With gating on, admission stays inside it, so that after a crash the
// store reads back at least what was admitted, and a restart cannot let the key overshoot.
struct QuotaGrant {
  std::int64_t day_start_ms = 0;   // the quota day it is for; 0: none yet
  std::int64_t requests = 0;       // requests admitted in that day may reach this
  std::int64_t tokens = 0;         // and tokens reserved this
  std::int64_t wanted_tokens = 0;  // the largest reservation it turned away since it was set
  bool blocked = false;            // it turned a request away since it was set
};

class alignas(64) KeyLoad {
 public:
  explicit KeyLoad(const KeyLimits& limits);
  ~KeyLoad();
  KeyLoad(const KeyLoad&) = delete;
  KeyLoad& operator=(const KeyLoad&) = delete;

  const KeyLimits& limits() const { return limits_; }

  int in_flight() const { return in_flight_.load(std::memory_order_relaxed); }
  // The concurrency the key is held to now: max_concurrency, or less after the upstream said
  // "too many in flight" (until a success); 0: unlimited.
  int concurrency_limit() const {
    const int lowered = lowered_limit_.load(std::memory_order_relaxed);
    return lowered > 0 ? lowered : max_concurrency_;
  }
  bool disabled() const { return disabled_.load(std::memory_order_relaxed); }
  // Drained by an operator: takes no new request; those in flight finish. Unlike a quarantine
  // it survives a reload (the operator's decision, not the upstream's).
  bool drained() const { return drained_.load(std::memory_order_relaxed); }
  bool cooling(TimePoint now) const {
    return now.time_since_epoch().count() < cooling_until_.load(std::memory_order_relaxed);
  }
  TimePoint cooling_until() const;
  // Latency EWMA; nullopt before the first sample.
  std::optional<std::chrono::nanoseconds> latency() const;

  // At its daily quota (rpd or tpd used up): skipped until the quota day ends, at quota_until().
  bool at_quota(TimePoint now) const {
    return now.time_since_epoch().count() < quota_until_.load(std::memory_order_relaxed);
  }
  TimePoint quota_until() const;
  QuotaUse quota_use() const;  // takes the lock
  // The key's daily quota is used up across the instances sharing it (state: redis) until
  // `until`, whatever this instance counted: at_quota() says so until then.
  void block_quota(TimePoint until, TimePoint now);
  // Counts `requests` and `tokens` in the quota day holding `wall_ms` (startup read-back).
  void seed_quota(std::int64_t wall_ms, TimePoint now, std::int64_t requests, std::int64_t tokens);
  // From now on, admission against a daily quota also stays inside the grant. A key with a
  // daily quota and no grant for the day takes nothing until it gets one.
  void gate_quota();
  bool quota_gated() const;
  // Raises the grant for the quota day starting at `day_start_ms` (a grant never shrinks;
  // one for a day that is not the current one, at `wall_ms`, is ignored). Returns whether
  // the key may take more now than before.
  bool grant_quota(std::int64_t wall_ms, TimePoint now, std::int64_t day_start_ms,
                   std::int64_t requests, std::int64_t tokens);
  QuotaGrant quota_grant() const;  // takes the lock
  // Turned away by the grant: out of selection until the next grant_quota().
  bool grant_blocked() const { return grant_blocked_.load(std::memory_order_relaxed); }

  // Could this key take the demand now? Exact when no other thread races; a hint otherwise.
  bool can_take(const Demand& demand, TimePoint now) const;
  // Checks every limit and takes a slot, a start and the token estimate, all or nothing.
  std::optional<Admission> try_admit(const Demand& demand, TimePoint now);
  // Frees the in-flight slot. The start stays counted; the reservation stays as estimated.
  // `settled`: learn() has already had the outcome; otherwise a breaker trial is abandoned.
  void release(const Admission& admission, bool settled);
  // Frees the slot and takes back everything the admission counted (its start in the QPS and
  // RPM windows, its token reservation, its daily quota use): the request never started,
  // because the limits shared with other instances refused it.
  void refund(const Admission& admission, TimePoint now);
  // Learns from an ended attempt: latency, real token use, cooldown or disable. Does not free
  // the slot (release() does).
  void learn(const Admission& admission, const Outcome& outcome,
             std::chrono::milliseconds default_cooldown, TimePoint now);

  void set_disabled(bool disabled) { disabled_.store(disabled, std::memory_order_relaxed); }
  void set_drained(bool drained) { drained_.store(drained, std::memory_order_relaxed); }
  const Breaker& breaker() const { return breaker_; }
  // Holds the breaker open until `until` (Breaker::hold_open).
  void hold_breaker_open(TimePoint until) { breaker_.hold_open(until); }
  // Extends the cooldown to `until` (never shortens it).
  void cool_down(TimePoint until);

  // Use of each window ending now (exact; takes the lock).
  std::int64_t qps_used(TimePoint now) const;
  std::int64_t rpm_used(TimePoint now) const;
  std::int64_t tpm_used(TimePoint now) const;
  // The fraction of the tightest limit still free (lock-free, as of the last change).
  double free_fraction() const;
  // When could the key take the demand if no lease ended? nullopt: not before a release.
  std::optional<TimePoint> next_available(const Demand& demand, TimePoint now) const;

  // The token estimate a demand reserves: at least 1, at most the tpm limit, so that one large
  // request can still run on an empty window.
  std::int64_t reservation(const Demand& demand) const;

 private:
  struct Windows;
  bool windows_fit(std::int64_t tokens, TimePoint now) const;  // under the lock
  // Under the lock: moves the quota day on to the one holding `wall_ms`; whether `tokens`
  // more (and one more request) fit in it, and in the grant when gated.
  bool quota_fits(std::int64_t tokens, std::int64_t wall_ms, TimePoint now);
  void roll_quota_day(std::int64_t wall_ms, TimePoint now);  // under the lock
  void update_quota_block(TimePoint now);                    // under the lock
  void publish() const;                                      // under the lock

  // Read on every pick (can_take): the first cache line (the class is aligned to one) holds
  // all of it for a key without rate windows, the breaker's state included. In a model of
  // thousands of keys the drawn keys are not in the cache, and a pick's cost is its misses.
  std::atomic<int> in_flight_{0};
  const int max_concurrency_;
  std::atomic<int> lowered_limit_{0};  // 0: not lowered
  std::atomic<bool> disabled_{false};
  std::atomic<bool> drained_{false};
  std::atomic<bool> grant_blocked_{false};  // as of the last change under the lock
  const bool windowed_;                     // some rate window is limited
  const bool quota_limited_;                // rpd or tpd set
  std::atomic<Clock::rep> cooling_until_{0};
  // When the key at its daily quota may serve again (steady clock); 0: not at quota.
  std::atomic<Clock::rep> quota_until_{0};
  Breaker breaker_;  // its state first
  // The windows' summary as of their last change: room for one more start (qps and rpm), room
  // for tokens (tpm), the earliest time a counted amount leaves a window (before then, the
  // rooms are exact), and the used fraction of the fullest window.
  mutable std::atomic<std::int64_t> start_room_;
  mutable std::atomic<std::int64_t> token_room_;
  mutable std::atomic<Clock::rep> recheck_at_;
  mutable std::atomic<double> window_used_{0};
  std::atomic<double> latency_ns_{-1};
  // What learn() changes for a key without rate windows, in the same (third) cache line.
  SpinLock latency_lock_;  // guards the average's update (latency_ns_ and last_sample_)
  Clock::rep last_sample_ = 0;
  const double decay_factor_;  // limits_.decay_factor, here so learn() reads no other line

  const KeyLimits limits_;
  const std::unique_ptr<Windows> windows_;
};

}  // namespace bc::balance
