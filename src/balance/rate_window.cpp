#include "balance/rate_window.h"

#include <algorithm>
#include <limits>

namespace bc::balance {
namespace {

std::int64_t floor_div(std::int64_t a, std::int64_t b) {
  std::int64_t q = a / b;
  if ((a % b != 0) && ((a < 0) != (b < 0))) --q;
  return q;
}

constexpr std::int64_t kNever = std::numeric_limits<std::int64_t>::max();

}  // namespace

RateWindow::RateWindow(std::int64_t limit, Duration span, int buckets)
    : limit_(limit), buckets_(std::max(buckets, 1)) {
  if (limit_ <= 0) {
    limit_ = 0;
    return;
  }
  const auto span_ns = std::chrono::duration_cast<std::chrono::nanoseconds>(span).count();
  width_ = std::max<std::int64_t>(1, (span_ns + buckets_ - 1) / buckets_);
  ring_.resize(static_cast<std::size_t>(buckets_ + 1));
  // Every slot starts as an empty bucket of an epoch long gone.
  head_ = std::numeric_limits<std::int64_t>::min() / 4;
  for (auto& b : ring_) b.epoch = head_;
  oldest_ = head_;
}

std::int64_t RateWindow::epoch_of(TimePoint t) const {
  const auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(t.time_since_epoch());
  return floor_div(ns.count(), width_);
}

std::size_t RateWindow::index(std::int64_t epoch) const {
  const auto n = static_cast<std::int64_t>(ring_.size());
  return static_cast<std::size_t>(((epoch % n) + n) % n);
}

void RateWindow::advance(std::int64_t epoch) {
  if (epoch <= head_) return;
  if (epoch - head_ > buckets_) {
    // Everything counted so far has left the window.
    for (auto& b : ring_) b = Bucket{epoch, 0};
    used_ = 0;
  } else {
    for (std::int64_t e = head_ + 1; e <= epoch; ++e) {
      Bucket& b = slot(e);  // held epoch e - buckets_ - 1 or older: expired at e
      used_ -= b.amount;
      b = Bucket{e, 0};
    }
  }
  head_ = epoch;
}

bool RateWindow::fits(std::int64_t amount, TimePoint now) {
  if (!limited()) return true;
  advance(epoch_of(now));
  return used_ + amount <= limit_;
}

std::int64_t RateWindow::add(std::int64_t amount, TimePoint now) {
  const std::int64_t epoch = epoch_of(now);
  if (!limited()) return epoch;
  advance(epoch);
  // A clock that steps back within the window counts into the latest bucket.
  const std::int64_t at = std::max(epoch, head_);
  if (used_ == 0) oldest_ = at;
  slot(at).amount += amount;
  used_ += amount;
  return at;
}

void RateWindow::adjust(std::int64_t bucket, std::int64_t delta, TimePoint now) {
  if (!limited() || delta == 0) return;
  advance(epoch_of(now));
  if (bucket > head_ - buckets_ - 1 && bucket <= head_) {
    Bucket& b = slot(bucket);
    const std::int64_t applied = std::max(delta, -b.amount);
    b.amount += applied;
    used_ += applied;
    if (b.amount > 0) oldest_ = std::min(oldest_, bucket);
  } else if (delta > 0) {
    if (used_ == 0) oldest_ = head_;
    slot(head_).amount += delta;
    used_ += delta;
  }
}

std::int64_t RateWindow::used(TimePoint now) {
  if (!limited()) return 0;
  advance(epoch_of(now));
  return used_;
}

std::int64_t RateWindow::room_epoch(std::int64_t amount) const {
  if (amount > limit_) return kNever;
  std::int64_t remaining = used_;
  if (remaining + amount <= limit_) return head_;
  // Buckets leave the window oldest first: bucket e stops counting at epoch e + buckets_ + 1.
  for (std::int64_t e = head_ - buckets_; e <= head_; ++e) {
    remaining -= slot(e).amount;
    if (remaining + amount <= limit_) return e + buckets_ + 1;
  }
  return head_ + buckets_ + 1;
}

std::optional<TimePoint> RateWindow::next_fit(std::int64_t amount, TimePoint now) {
  if (!limited()) return now;
  advance(epoch_of(now));
  const std::int64_t epoch = room_epoch(amount);
  if (epoch == kNever) return std::nullopt;
  if (epoch <= head_) return now;
  return TimePoint(std::chrono::duration_cast<Duration>(std::chrono::nanoseconds(epoch * width_)));
}

std::optional<TimePoint> RateWindow::next_change() {
  if (!limited() || used_ == 0) return std::nullopt;
  // oldest_ only moves forward, so skipping empty buckets costs O(1) per bucket over the run.
  oldest_ = std::max(oldest_, head_ - buckets_);
  while (oldest_ < head_ && slot(oldest_).amount == 0) ++oldest_;
  return TimePoint(std::chrono::duration_cast<Duration>(
      std::chrono::nanoseconds((oldest_ + buckets_ + 1) * width_)));
}

}  // namespace bc::balance
