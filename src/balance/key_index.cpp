#include "balance/key_index.h"

#include <algorithm>
#include <bit>
#include <cmath>
#include <limits>
#include <mutex>

namespace bc::balance {
namespace {

// The heaviest key of a model weighs 2^24 units: shares are exact to 1e-7 of it, and 2^32 keys
// still sum below 2^64.
constexpr double kUnitsOfHeaviest = 16777216.0;

bool later(const std::pair<Clock::rep, std::size_t>& a,
           const std::pair<Clock::rep, std::size_t>& b) {
  return a.first > b.first;
}

}  // namespace

KeyIndex::KeyIndex(std::span<const double> weights)
    : size_(weights.size()),
      capacity_(std::bit_ceil(std::max<std::size_t>(weights.size(), 1))),
      nodes_(new std::atomic<std::uint64_t>[capacity_ + 1]),
      in_(new std::atomic<std::uint8_t>[weights.size()]),
      parked_until_(weights.size(), 0),
      earliest_(kNever) {
  double heaviest = 0;
  for (double w : weights) heaviest = std::max(heaviest, w);
  units_.reserve(size_);
  for (double w : weights) {
    const double units = heaviest > 0 ? std::round(w / heaviest * kUnitsOfHeaviest) : 1;
    units_.push_back(std::max<std::uint64_t>(1, static_cast<std::uint64_t>(units)));
  }
  // Built in O(n): each node takes its own key, then passes its sum to its parent.
  std::vector<std::uint64_t> sums(capacity_ + 1, 0);
  for (std::size_t k = 0; k < size_; ++k) sums[k + 1] = units_[k];
  for (std::size_t i = 1; i <= capacity_; ++i) {
    const std::size_t parent = i + (i & (~i + 1));
    if (parent <= capacity_) sums[parent] += sums[i];
  }
  for (std::size_t i = 0; i <= capacity_; ++i) nodes_[i].store(sums[i], std::memory_order_relaxed);
  for (std::size_t k = 0; k < size_; ++k) in_[k].store(1, std::memory_order_relaxed);
}

void KeyIndex::add(std::size_t key, std::uint64_t delta) {
  for (std::size_t i = key + 1; i <= capacity_; i += i & (~i + 1)) {
    nodes_[i].fetch_add(delta, std::memory_order_acq_rel);  // wraps: a subtraction is exact
  }
}

bool KeyIndex::set(std::size_t key, bool in) {
  std::uint8_t expected = in ? 0 : 1;
  // Most calls find the key as it should be: a read, no locked instruction.
  if (in_[key].load(std::memory_order_acquire) != expected) return false;
  if (!in_[key].compare_exchange_strong(expected, in ? 1 : 0, std::memory_order_acq_rel)) {
    return false;
  }
  add(key, in ? units_[key] : ~units_[key] + 1);
  return true;
}

std::optional<std::size_t> KeyIndex::draw(double u) const {
  const std::uint64_t total = this->total();
  // A racing subtraction may show as a huge number for a moment; the key drawn is checked.
  if (total == 0) return std::nullopt;
  std::uint64_t rest =
      std::min(static_cast<std::uint64_t>(u * static_cast<double>(total)), total - 1);
  // The smallest key whose prefix sum exceeds `rest`.
  std::size_t pos = 0;
  for (std::size_t step = capacity_ >> 1; step > 0; step >>= 1) {
    const std::uint64_t node = nodes_[pos + step].load(std::memory_order_acquire);
    if (node <= rest) {
      rest -= node;
      pos += step;
    }
  }
  if (pos >= size_) return std::nullopt;
  return pos;
}

void KeyIndex::park(std::size_t key, TimePoint until) {
  const Clock::rep at = until.time_since_epoch().count();
  std::lock_guard guard(park_lock_);
  Clock::rep& parked = parked_until_[key];
  if (parked != 0 && parked <= at) return;
  parked = at;
  heap_.emplace_back(at, key);
  std::push_heap(heap_.begin(), heap_.end(), later);
  earliest_.store(heap_.front().first, std::memory_order_release);
}

void KeyIndex::take_due(TimePoint now, std::vector<std::size_t>& out) {
  const Clock::rep now_rep = now.time_since_epoch().count();
  std::unique_lock guard(park_lock_, std::try_to_lock);
  if (!guard.owns_lock()) return;
  while (!heap_.empty() && heap_.front().first <= now_rep) {
    const auto [at, key] = heap_.front();
    std::pop_heap(heap_.begin(), heap_.end(), later);
    heap_.pop_back();
    if (parked_until_[key] != at) continue;  // parked again for an earlier time, already taken
    parked_until_[key] = 0;
    out.push_back(key);
  }
  earliest_.store(heap_.empty() ? kNever : heap_.front().first, std::memory_order_release);
}

}  // namespace bc::balance
