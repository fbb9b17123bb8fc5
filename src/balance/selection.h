// The draws behind selection. Unsaturated, a model's or key's share of picks must follow its
// weight over short windows as well as long ones, from many threads at once and without a
// lock. Independent random draws drift (about ±10 points over 100 picks at 60/40); a
// low-discrepancy sequence does not: the n-th draw is frac(n·α) for an irrational α with small
// continued-fraction terms, and any run of consecutive draws spreads over [0, 1) almost
// evenly, so the picks landing in an interval of length p stay within a couple of p·n. One
// atomic add per draw; each thread's draw is a distinct n.
//
// Failover order after the first pick uses the caller's Rng: it only has to prefer heavier
// targets, not to be smooth.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "core/clock.h"

namespace bc::balance {

class Sequence {
 public:
  // `step` is α·2^64; the default is 2^64/φ (golden ratio), the most evenly spread choice.
  explicit Sequence(std::uint64_t step = 0x9e3779b97f4a7c15ULL) : step_(step) {}
  // The next draw in [0, 1).
  double next() {
    const std::uint64_t x = state_.fetch_add(step_, std::memory_order_relaxed);
    return static_cast<double>(x >> 11) * 0x1.0p-53;
  }

 private:
  const std::uint64_t step_;
  std::atomic<std::uint64_t> state_{0};
};

// The index whose slice of the cumulative weights holds u·total (weights ≥ 0, some > 0).
// Indices of zero weight are never returned.
std::size_t pick(std::span<const double> weights, double u);

// Appends up to `count` indices with positive weight in weighted random order, heaviest most
// likely first, each once (sampling without replacement). Consumes `weights`: afterwards
// the taken ones (and possibly the rest) are zero.
void append_weighted_order(std::span<double> weights, std::size_t count, Rng& rng,
                           std::vector<std::size_t>& out);

}  // namespace bc::balance
