// Tokens minted from a key by a provider's credential exchange (Baidu legacy access_token),
// cached per key until their refresh time. Shared by every worker thread; thread-safe.
#pragma once

#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <utility>

#include "balance/pool.h"
#include "core/clock.h"

namespace bc::gateway {

class CredentialCache {
 public:
  // The cached token for `target` if it is still fresh at `now`.
  std::optional<std::string> get(balance::Target target, TimePoint now) const;
  void put(balance::Target target, std::string token, TimePoint refresh_at);
  // Forgets the token (the upstream said it expired or is invalid).
  void drop(balance::Target target);

 private:
  struct Entry {
    std::string token;
    TimePoint refresh_at;
  };
  mutable std::mutex mutex_;
  std::map<std::pair<std::uint32_t, std::uint32_t>, Entry> entries_;
};

}  // namespace bc::gateway
