#include "core/mask.h"

namespace bc {

std::string mask_secret(std::string_view secret) {
  // Short secrets reveal too much even in part.
  if (secret.size() < 8) return "…";
  if (secret.size() < 12) return "…" + std::string(secret.substr(secret.size() - 2));
  std::string prefix;
  // Keep a provider-style prefix ("sk-") when present: it names the kind of key, not the key.
  const auto dash = secret.find('-');
  if (dash != std::string_view::npos && dash <= 4) prefix = std::string(secret.substr(0, dash + 1));
  return prefix + "…" + std::string(secret.substr(secret.size() - 4));
}

}  // namespace bc
