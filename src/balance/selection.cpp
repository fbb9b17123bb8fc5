#include "balance/selection.h"

#include <algorithm>
#include <cmath>
#include <utility>

namespace bc::balance {

std::size_t pick(std::span<const double> weights, double u) {
  double total = 0;
  for (double w : weights) total += w;
  const double target = u * total;
  double sum = 0;
  std::size_t last = weights.size();
  for (std::size_t i = 0; i < weights.size(); ++i) {
    if (weights[i] <= 0) continue;
    sum += weights[i];
    last = i;
    if (target < sum) return i;
  }
  return last;  // rounding left target at the very end
}

void append_weighted_order(std::span<double> weights, std::size_t count, Rng& rng,
                           std::vector<std::size_t>& out) {
  std::size_t positive = 0;
  for (double w : weights) positive += w > 0 ? 1 : 0;
  count = std::min(count, positive);
  if (count == 0) return;
  if (count <= 4) {
    // A few repeated draws cost less than ordering everything.
    for (std::size_t n = 0; n < count; ++n) {
      const std::size_t i = pick(weights, rng.uniform());
      out.push_back(i);
      weights[i] = 0;
    }
    return;
  }
  // Efraimidis-Spirakis: ordering by -ln(u)/w ascending is weighted sampling without
  // replacement.
  std::vector<std::pair<double, std::size_t>> keyed;
  keyed.reserve(positive);
  for (std::size_t i = 0; i < weights.size(); ++i) {
    if (weights[i] <= 0) continue;
    const double u = 1.0 - rng.uniform();  // (0, 1]
    keyed.emplace_back(-std::log(u) / weights[i], i);
    weights[i] = 0;
  }
  std::partial_sort(keyed.begin(), keyed.begin() + static_cast<std::ptrdiff_t>(count), keyed.end());
  for (std::size_t n = 0; n < count; ++n) out.push_back(keyed[n].second);
}

}  // namespace bc::balance
