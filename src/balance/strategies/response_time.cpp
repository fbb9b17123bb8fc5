// `response_time`, the seed's ResponseTimeStrategy: a key's share falls with its latency
// (a time-decayed EWMA, see ModelSpec::decay_factor) times the requests it already has in
// flight, under the max_concurrency cap. Selection stays proportional rather than always
// taking the fastest key, so a slow key still gets a little traffic and its average recovers
// when it gets fast again. A key not measured yet counts as fast: it is tried soon.
#include <chrono>

#include "balance/strategy.h"

namespace bc::balance {
namespace {

// Latency is counted in milliseconds plus one, so a key with no measurement (0) is comparable
// with measured ones and the factor stays finite.
constexpr double kFloorMs = 1.0;

class ResponseTime final : public Strategy {
 public:
  std::optional<double> weigh(const KeyLoad& load, const Demand&, TimePoint) const override {
    double ms = 0;
    if (auto latency = load.latency()) {
      ms = std::chrono::duration<double, std::milli>(*latency).count();
    }
    return 1.0 / ((ms + kFloorMs) * (load.in_flight() + 1));
  }
  Capacity capacity() const override { return Capacity::kConcurrency; }
};

}  // namespace

Result<std::unique_ptr<Strategy>> make_response_time(const ModelSpec&) {
  return std::unique_ptr<Strategy>(std::make_unique<ResponseTime>());
}

}  // namespace bc::balance
