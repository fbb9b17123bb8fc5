// `concurrency`, the seed's default: at most max_concurrency requests in flight per key (kept
// by KeyLoad), and keys inside it share the traffic exactly by weight. A busy key is not
// penalised until it is full, so the shares stay what the operator configured.
#include "balance/strategy.h"

namespace bc::balance {
namespace {

class Concurrency final : public Strategy {
 public:
  std::optional<double> weigh(const KeyLoad&, const Demand&, TimePoint) const override {
    return 1.0;
  }
  Capacity capacity() const override { return Capacity::kConcurrency; }
  bool reads_load() const override { return false; }
};

}  // namespace

Result<std::unique_ptr<Strategy>> make_concurrency(const ModelSpec&) {
  return std::unique_ptr<Strategy>(std::make_unique<Concurrency>());
}

}  // namespace bc::balance
