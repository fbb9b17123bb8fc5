// A sliding window that counts amounts (request starts or tokens) and admits an addition only
// if no window of `span`, wherever it starts, would then hold more than `limit`.
//
// The window is kept in `buckets` equal buckets. A bucket stays counted until all of it has
// left the window, so the check is conservative by at most one bucket (1/buckets of the span)
// and there is no burst of twice the limit at a window edge, as a fixed window or a token
// bucket would allow.
//
// Not thread-safe: the owner (KeyLoad) serializes every call with its lock and publishes
// room() and next_change() as lock-free hints after each change.
#pragma once

#include <cstdint>
#include <optional>
#include <vector>

#include "core/clock.h"

namespace bc::balance {

class RateWindow {
 public:
  // An unlimited window: holds no memory, fits everything.
  RateWindow() = default;
  RateWindow(std::int64_t limit, Duration span, int buckets);
  RateWindow(RateWindow&&) = delete;

  bool limited() const { return limit_ > 0; }
  std::int64_t limit() const { return limit_; }
  Duration span() const { return Duration(width_ * buckets_); }

  // Would `amount` fit in the window ending at `now`?
  bool fits(std::int64_t amount, TimePoint now);
  // Counts `amount` at `now`; returns the bucket it went to, for adjust().
  std::int64_t add(std::int64_t amount, TimePoint now);
  // Corrects an amount added earlier to `bucket` (a reservation settled against real use).
  // When that bucket has left the window, a positive delta is counted now instead.
  void adjust(std::int64_t bucket, std::int64_t delta, TimePoint now);
  // The amount counted in the window ending at `now`.
  std::int64_t used(TimePoint now);
  // The earliest time at which `amount` fits if nothing more is added; nullopt if never.
  std::optional<TimePoint> next_fit(std::int64_t amount, TimePoint now);

  // As of the last call that took a time: what still fits, and when the oldest amount counted
  // leaves the window (room grows then; never, while the window is empty).
  std::int64_t room() const { return limit_ - used_; }
  std::optional<TimePoint> next_change();

 private:
  struct Bucket {
    std::int64_t epoch = 0;
    std::int64_t amount = 0;
  };
  std::int64_t epoch_of(TimePoint t) const;
  std::size_t index(std::int64_t epoch) const;
  Bucket& slot(std::int64_t epoch) { return ring_[index(epoch)]; }
  const Bucket& slot(std::int64_t epoch) const { return ring_[index(epoch)]; }
  void advance(std::int64_t epoch);
  std::int64_t room_epoch(std::int64_t amount) const;

  std::int64_t limit_ = 0;
  std::int64_t width_ = 1;    // nanoseconds per bucket
  std::int64_t buckets_ = 0;  // buckets in one span; the ring holds one more
  std::vector<Bucket> ring_;
  std::int64_t head_ = 0;    // the latest epoch advanced to
  std::int64_t used_ = 0;    // the sum of the live buckets
  std::int64_t oldest_ = 0;  // no live bucket before this epoch holds anything
};

}  // namespace bc::balance
