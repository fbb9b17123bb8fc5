#include "gateway/credential_cache.h"

namespace bc::gateway {

std::optional<std::string> CredentialCache::get(balance::Target target, TimePoint now) const {
  std::lock_guard lock(mutex_);
  const auto it = entries_.find({target.model, target.key});
  if (it == entries_.end() || now >= it->second.refresh_at) return std::nullopt;
  return it->second.token;
}

void CredentialCache::put(balance::Target target, std::string token, TimePoint refresh_at) {
  std::lock_guard lock(mutex_);
  entries_[{target.model, target.key}] = Entry{std::move(token), refresh_at};
}

void CredentialCache::drop(balance::Target target) {
  std::lock_guard lock(mutex_);
  entries_.erase({target.model, target.key});
}

}  // namespace bc::gateway
