// Inside the upstream client: what calls under one TlsPolicy share, their TLS context (made on
// first use) and the pool-key suffix that keeps their connections apart, and the cache of the
// URLs they call, each parsed once.
#pragma once

#include <cstddef>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

#include "core/result.h"
#include "net/url.h"

namespace boost::asio::ssl {
class context;
}

namespace bc::net {

// An upstream URL as parsed, with the pool key of its connections under one TlsProfile.
struct Target {
  Url url;
  std::string pool_key;     // the origin, plus the TLS profile's suffix for https://
  std::string host_header;  // url.host_header(), made once rather than for every request
};

// Transparent hashing, so a URL's text finds its Target without a copy.
struct TextHash {
  using is_transparent = void;
  std::size_t operator()(std::string_view text) const {
    return std::hash<std::string_view>{}(text);
  }
};

// What a call under one TlsPolicy uses: its context and the suffix of its pool key. Touched
// only on the owning worker's thread.
struct TlsProfile {
  TlsProfile();
  ~TlsProfile();
  TlsProfile(const TlsProfile&) = delete;
  TlsProfile& operator=(const TlsProfile&) = delete;

  // Made on the first https call: loading the system's CA bundle costs tens of milliseconds
  // per worker, a cost a gateway with only http upstreams (or none yet called) need not pay
  // at start-up. An error when a CA file does not load (checked at start-up and on reload;
  // the file may have gone since).
  Result<boost::asio::ssl::context*> get() const;

  mutable std::unique_ptr<boost::asio::ssl::context> context;  // null until needed, or `error`
  std::string ca_file;
  std::string extra_ca;
  bool verify = true;
  // Appended to the origin to key the pool: connections made under another policy (say,
  // without verification) are never handed to this one.
  std::string pool_suffix;
  std::optional<Error> error;  // the policy's CA file could not be loaded

  // The URLs called under this profile, parsed once: a model's URL is the same on every
  // call, and parsing it (the host lower-cased, the port, the target, the origin) cost
  // three allocations and more work than the rest of the request's head. Shared with the calls
  // that use them, so clearing a full cache leaves a call in flight its own.
  Result<std::shared_ptr<const Target>> target(std::string_view text) const;
  static constexpr std::size_t kMaxTargets = 1024;
  mutable std::unordered_map<std::string, std::shared_ptr<const Target>, TextHash, std::equal_to<>>
      targets;
};

}  // namespace bc::net
