// What a reload changed (reload_report.h).
#include "api/reload_report.h"

#include <unordered_set>

namespace bc::api {

std::size_t kept_keys(const balance::Pool& previous, const balance::Pool& next) {
  std::size_t kept = 0;
  for (std::uint32_t m = 0; m < next.model_count(); ++m) {
    const auto old = previous.find_model(next.model(m).name);
    if (!old) continue;
    // By address, so a reload of 10,000 keys counts in O(keys).
    std::unordered_set<const balance::KeyLoad*> before;
    const auto old_model = static_cast<std::uint32_t>(*old);
    for (std::uint32_t o = 0; o < previous.model(*old).keys.size(); ++o) {
      before.insert(&previous.load({old_model, o}));
    }
    for (std::uint32_t k = 0; k < next.model(m).keys.size(); ++k) {
      kept += before.count(&next.load({m, k}));
    }
  }
  return kept;
}

std::vector<std::string> restart_only_changes(const config::Config& a, const config::Config& b) {
  std::vector<std::string> out;
  if (!(a.server == b.server)) out.emplace_back("server");
  if (a.log.access != b.log.access) out.emplace_back("log.access");
  if (a.log.level != b.log.level) out.emplace_back("log.level");
  if (a.log.format != b.log.format) out.emplace_back("log.format");
  if (a.log.file != b.log.file) out.emplace_back("log.file");
  if (!(a.usage == b.usage)) out.emplace_back("usage");
  if (!(a.state == b.state)) out.emplace_back("state");
  return out;
}

}  // namespace bc::api
