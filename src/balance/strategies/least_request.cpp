// `least_request`: a key's share is its weight divided by one plus the requests it has in
// flight, so a key that is slow to answer (and so holds its requests longer) gets fewer new
// ones (Envoy's weighted least-request). The worked example in docs/adding-a-strategy.md.
#include "balance/strategy.h"

namespace bc::balance {
namespace {

class LeastRequest final : public Strategy {
 public:
  std::optional<double> weigh(const KeyLoad& load, const Demand&, TimePoint) const override {
    return 1.0 / (load.in_flight() + 1);
  }
  Capacity capacity() const override { return Capacity::kConcurrency; }
};

}  // namespace

Result<std::unique_ptr<Strategy>> make_least_request(const ModelSpec&) {
  return std::unique_ptr<Strategy>(std::make_unique<LeastRequest>());
}

}  // namespace bc::balance
