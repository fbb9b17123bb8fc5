// A per-key circuit breaker. Rate limits and bad credentials have their own answers (cooldown,
// quarantine); the breaker handles the rest: an upstream that keeps failing with 5xx, refused
// connections or timeouts. After `failures` faults in a row (a success in between starts the
// count anew) within `window` it opens and the key takes
// no traffic for `open_for`; then it is half-open: exactly one trial request may pass, and its
// outcome closes the breaker (success) or opens it again (fault).
//
// Thread-safe. The state a pick reads is two atomics; recording a fault takes a spin lock for
// a few instructions.
#pragma once

#include <atomic>
#include <chrono>
#include <optional>
#include <vector>

#include "balance/spin_lock.h"
#include "core/clock.h"

namespace bc::balance {

struct BreakerSettings {
  int failures = 5;  // faults within `window` that open the breaker; 0: never opens
  Duration window = std::chrono::seconds(30);
  Duration open_for = std::chrono::seconds(30);
  friend bool operator==(const BreakerSettings&, const BreakerSettings&) = default;
};

class Breaker {
 public:
  enum class State { kClosed, kOpen, kHalfOpen };
  // How an attempt that passed the breaker ended.
  enum class Verdict {
    kSuccess,  // the upstream answered
    kFault,    // 5xx, connect error, timeout, broken answer
    kNeutral,  // says nothing about the upstream's health (bad request, rate limit, client gone)
  };

  explicit Breaker(const BreakerSettings& settings);

  State state(TimePoint now) const;
  // Open until this time; nullopt when closed.
  std::optional<TimePoint> open_until() const;
  // Would a request pass now? Closed, or half-open with the trial not yet taken.
  bool may_pass(TimePoint now) const;
  // Lets a request pass, or not. `trial` is set when it is the half-open trial: its verdict
  // must come back through record() or abandon(), or the key stays half-open with no trial.
  bool admit(TimePoint now, bool& trial);
  void record(bool trial, Verdict verdict, TimePoint now);
  // The attempt ended without a verdict (the client left): frees the trial.
  void abandon(bool trial);
  // Open until `until` at least, whatever the faults counted here: another instance sharing
  // the key (state: redis) saw its breaker open. Never shortens an opening.
  void hold_open(TimePoint until);

 private:
  void open(TimePoint now);

  // First, so a KeyLoad keeps them in the cache line a pick reads (key_load.h).
  std::atomic<Clock::rep> open_until_{0};  // 0: closed
  std::atomic<bool> trial_taken_{false};
  std::atomic<bool> counting_{false};  // count_ > 0 (set under the lock, read without it)
  const BreakerSettings settings_;
  SpinLock lock_;                   // guards the ring below
  std::vector<Clock::rep> faults_;  // the times of the last `failures` faults, a ring
  std::size_t next_ = 0;
  std::size_t count_ = 0;
};

}  // namespace bc::balance
