// `qps`: at most max_qps requests started per key in any one-second window, wherever the window
// starts (KeyLoad's sliding window: no burst of twice the limit at a window edge). Keys with
// room share the traffic by weight.
#include "balance/strategy.h"

namespace bc::balance {
namespace {

class Qps final : public Strategy {
 public:
  std::optional<double> weigh(const KeyLoad&, const Demand&, TimePoint) const override {
    return 1.0;
  }
  Capacity capacity() const override { return Capacity::kQps; }
  bool reads_load() const override { return false; }
};

}  // namespace

Result<std::unique_ptr<Strategy>> make_qps(const ModelSpec& spec) {
  if (!(spec.max_qps > 0)) {
    return Error::invalid_request(
        "model '" + spec.name + "': strategy 'qps' needs max_qps greater than 0", "invalid_config");
  }
  return std::unique_ptr<Strategy>(std::make_unique<Qps>());
}

}  // namespace bc::balance
