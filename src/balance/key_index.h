// The keys of one model that can take a request now, weighted, so a pick costs O(log keys)
// whatever the size of the model (issue 24). A Fenwick tree over the keys' configured weights
// (fixed point) in which a key counts only while it is "in": the pool takes a key out when it
// reaches a limit, cools down, is disabled or its breaker opens, and puts it back when that
// ends. What ends by itself with time (a cooldown, a full rate window, an open breaker) is
// parked until that time; the first pick after it hands the key back to the pool to check.
//
// Lock-free for draws and membership changes: nodes are atomics updated by additions, so a
// draw racing with an update may land on a key that just left. The index is a hint: the pool
// checks every key it draws, and a key found unable to serve is taken out then.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <memory>
#include <optional>
#include <span>
#include <vector>

#include "balance/spin_lock.h"
#include "core/clock.h"

namespace bc::balance {

class KeyIndex {
 public:
  // Every key starts in.
  explicit KeyIndex(std::span<const double> weights);
  KeyIndex(const KeyIndex&) = delete;
  KeyIndex& operator=(const KeyIndex&) = delete;

  std::size_t size() const { return size_; }
  // The key whose slice of the weights of the keys in holds u·total, u in [0, 1); nullopt when
  // no key is in (or a racing update made the answer fall outside the keys).
  std::optional<std::size_t> draw(double u) const;
  bool contains(std::size_t key) const { return in_[key].load(std::memory_order_acquire) != 0; }
  // Puts a key in or takes it out. True when this call changed it; then the caller checks the
  // key again, since its state may have changed meanwhile (the last change wins).
  bool set(std::size_t key, bool in);
  // The sum of the weights of the keys in, in fixed-point units (0: none).
  std::uint64_t total() const { return nodes_[capacity_].load(std::memory_order_acquire); }

  // Keeps a key that is out until `until`, when due() hands it back. A later park of the same
  // key for a later time is dropped (the earlier wake checks it and parks it again).
  void park(std::size_t key, TimePoint until);
  bool any_due(TimePoint now) const {
    return now.time_since_epoch().count() >= earliest_.load(std::memory_order_acquire);
  }
  // The earliest time a parked key is due, or nullopt when none is parked. Never later than
  // the true earliest (an entry may outlive its key's return), so a wake-up set by it may come
  // early but never late.
  std::optional<TimePoint> earliest_parked() const {
    const Clock::rep at = earliest_.load(std::memory_order_acquire);
    if (at == kNever) return std::nullopt;
    return TimePoint(Duration(at));
  }
  // Appends the keys parked until `now` or earlier and forgets them. Another thread already
  // collecting: returns at once (it will hand them back).
  void take_due(TimePoint now, std::vector<std::size_t>& out);

 private:
  static constexpr Clock::rep kNever = std::numeric_limits<Clock::rep>::max();

  void add(std::size_t key, std::uint64_t delta);

  std::size_t size_ = 0;
  std::size_t capacity_ = 1;  // a power of two ≥ size_: node capacity_ is the total
  std::unique_ptr<std::atomic<std::uint64_t>[]> nodes_;  // 1-based Fenwick tree
  std::vector<std::uint64_t> units_;                     // each key's weight, fixed point
  std::unique_ptr<std::atomic<std::uint8_t>[]> in_;

  SpinLock park_lock_;                                    // guards the heap and parked_until_
  std::vector<std::pair<Clock::rep, std::size_t>> heap_;  // min-heap by time
  std::vector<Clock::rep> parked_until_;                  // 0: not parked
  std::atomic<Clock::rep> earliest_;
};

}  // namespace bc::balance
