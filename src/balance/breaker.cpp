#include "balance/breaker.h"

#include <algorithm>
#include <mutex>

namespace bc::balance {

Breaker::Breaker(const BreakerSettings& settings)
    : settings_(settings), faults_(static_cast<std::size_t>(std::max(settings.failures, 0))) {}

Breaker::State Breaker::state(TimePoint now) const {
  const Clock::rep until = open_until_.load(std::memory_order_acquire);
  if (until == 0) return State::kClosed;
  return now.time_since_epoch().count() < until ? State::kOpen : State::kHalfOpen;
}

std::optional<TimePoint> Breaker::open_until() const {
  const Clock::rep until = open_until_.load(std::memory_order_acquire);
  if (until == 0) return std::nullopt;
  return TimePoint(Duration(until));
}

bool Breaker::may_pass(TimePoint now) const {
  switch (state(now)) {
    case State::kClosed:
      return true;
    case State::kOpen:
      return false;
    case State::kHalfOpen:
      return !trial_taken_.load(std::memory_order_acquire);
  }
  return false;
}

bool Breaker::admit(TimePoint now, bool& trial) {
  trial = false;
  switch (state(now)) {
    case State::kClosed:
      return true;
    case State::kOpen:
      return false;
    case State::kHalfOpen: {
      bool expected = false;
      if (!trial_taken_.compare_exchange_strong(expected, true, std::memory_order_acq_rel)) {
        return false;  // another request is the trial
      }
      trial = true;
      return true;
    }
  }
  return false;
}

void Breaker::open(TimePoint now) {
  open_until_.store((now + settings_.open_for).time_since_epoch().count(),
                    std::memory_order_release);
}

void Breaker::record(bool trial, Verdict verdict, TimePoint now) {
  if (trial) {
    if (verdict == Verdict::kSuccess) {
      {
        std::lock_guard guard(lock_);
        count_ = 0;
        counting_.store(false, std::memory_order_relaxed);
      }
      open_until_.store(0, std::memory_order_release);
    } else if (verdict == Verdict::kFault) {
      open(now);
    }
    // Set the new state before letting the next trial through.
    trial_taken_.store(false, std::memory_order_release);
    return;
  }
  // A success in between ends a run of faults: a key that fails every other call is flaky,
  // not broken, and same-key retries serve it well (as Envoy's consecutive-5xx detection).
  // Most outcomes are successes with no fault counted: they read only `counting_`, which
  // sits in the cache line a pick reads, not the ring's line.
  if (verdict == Verdict::kSuccess) {
    if (!counting_.load(std::memory_order_relaxed)) return;
    std::lock_guard guard(lock_);
    count_ = 0;
    counting_.store(false, std::memory_order_relaxed);
    return;
  }
  // A request admitted before the breaker opened says nothing about the trial to come.
  if (verdict != Verdict::kFault || faults_.empty() || state(now) != State::kClosed) return;
  const Clock::rep at = now.time_since_epoch().count();
  std::lock_guard guard(lock_);
  faults_[next_] = at;
  next_ = (next_ + 1) % faults_.size();
  count_ = std::min(count_ + 1, faults_.size());
  counting_.store(true, std::memory_order_relaxed);
  // The ring is full: its oldest entry is the one `next_` points at.
  if (count_ == faults_.size() && at - faults_[next_] <= settings_.window.count()) {
    count_ = 0;
    counting_.store(false, std::memory_order_relaxed);
    open(now);
  }
}

void Breaker::hold_open(TimePoint until) {
  const Clock::rep target = until.time_since_epoch().count();
  Clock::rep current = open_until_.load(std::memory_order_acquire);
  while (current < target &&
         !open_until_.compare_exchange_weak(current, target, std::memory_order_acq_rel)) {
  }
}

void Breaker::abandon(bool trial) {
  if (trial) trial_taken_.store(false, std::memory_order_release);
}

}  // namespace bc::balance
