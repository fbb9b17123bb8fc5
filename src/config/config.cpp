#include "config/config.h"

namespace bc::config {

const ModelConfig* Config::find_model(std::string_view name) const {
  for (const auto& m : models) {
    if (m.name == name) return &m;
  }
  return nullptr;
}

std::vector<const ModelConfig*> Config::active_models() const {
  std::vector<const ModelConfig*> out;
  for (const auto& m : models) {
    if (enabled_models.empty()) {
      out.push_back(&m);
      continue;
    }
    for (const auto& name : enabled_models) {
      if (name == m.name) {
        out.push_back(&m);
        break;
      }
    }
  }
  return out;
}

}  // namespace bc::config
