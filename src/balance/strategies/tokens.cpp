// `tokens`: at most rpm requests and tpm tokens per key in any 60 seconds. Admission reserves
// the request's estimate (prompt size + max_tokens) in the key's token window, and settling
// the lease replaces it with the real `usage` (KeyLoad::learn), so a window is never
// overbooked by requests in flight and never blocked by estimates that were too high. Keys with
// room share the traffic by weight.
#include "balance/strategy.h"

namespace bc::balance {
namespace {

class Tokens final : public Strategy {
 public:
  std::optional<double> weigh(const KeyLoad&, const Demand&, TimePoint) const override {
    return 1.0;
  }
  Capacity capacity() const override { return Capacity::kTokens; }
  bool reads_load() const override { return false; }
};

}  // namespace

Result<std::unique_ptr<Strategy>> make_tokens(const ModelSpec& spec) {
  if (spec.rpm <= 0 && spec.tpm <= 0) {
    return Error::invalid_request(
        "model '" + spec.name + "': strategy 'tokens' needs rpm or tpm greater than 0",
        "invalid_config");
  }
  return std::unique_ptr<Strategy>(std::make_unique<Tokens>());
}

}  // namespace bc::balance
