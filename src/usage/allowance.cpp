// Sizing of the allowance marks (usage/allowance.h).
#include "usage/allowance.h"

#include <algorithm>

namespace bc::usage {

std::int64_t next_mark(std::int64_t limit, std::int64_t used, std::int64_t recent,
                       std::int64_t granted, std::int64_t wanted) {
  if (limit <= 0) return granted;
  const std::int64_t headroom =
      std::max({limit / 50, 2 * std::max<std::int64_t>(recent, 0), 2 * wanted, std::int64_t{1}});
  // Rise once less than half the headroom is left (or a request did not fit), so a mark is
  // written about once per headroom, not once per request.
  const bool short_now = wanted > 0 && used + wanted > granted;
  if (!short_now && granted - used >= (headroom + 1) / 2) return granted;
  if (granted >= limit) return granted;
  return std::max(granted, std::min(limit, used + headroom));
}

}  // namespace bc::usage
