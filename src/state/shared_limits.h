// A key's limits taken in Redis, shared by every instance that uses the same Redis and
// key_prefix: max_concurrency as leases with an expiry (a crashed instance's slots come back
// within the lease time), max_qps as an exact one-second window. One round trip to admit
// (EVALSHA of state/admission_script.h); release and renewal are sent without waiting.
// Use from the executor of the link it was given.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>

#include "core/result.h"
#include "state/redis_link.h"

namespace bc::state {

struct SharedLimits {
  int max_concurrency = 0;  // 0: no limit
  double max_qps = 0;       // 0: no limit; below 1, one request per 1/max_qps seconds
};

// The rate window the admission script keeps for `max_qps`: so many admissions per so many
// milliseconds (0 admissions: no rate limit). Pure.
struct RateWindow {
  int admissions = 0;
  long long window_ms = 1000;
};
RateWindow rate_window_for(double max_qps);

struct SharedAdmission {
  enum class Outcome { kAdmitted, kConcurrencyFull, kRateFull, kCooling };
  Outcome outcome = Outcome::kAdmitted;
  long long in_flight = 0;  // live leases on the key over every instance
  // kRateFull: when the window frees a slot; kCooling: when the key's cooldown ends.
  std::chrono::milliseconds retry_after{0};
  std::string lease;  // kAdmitted: what release() and renew() take
};

class SharedLimitsClient {
 public:
  // `instance_id` makes lease ids unique across instances; `lease_time` is how long a lease
  // lives without renewal.
  SharedLimitsClient(RedisLink& link, std::string key_prefix, std::string instance_id,
                     std::chrono::milliseconds lease_time);

  // Checks and takes every limit of `key` (a stable id: model and key id) at once.
  boost::asio::awaitable<Result<SharedAdmission>> admit(std::string key, SharedLimits limits);
  // Frees the lease; not waited for. False when the link is down (the lease then expires).
  bool release(std::string_view key, std::string_view lease);
  // Pushes the lease's expiry on by the lease time; not waited for.
  bool renew(std::string_view key, std::string_view lease);
  // Cools `key` down for every instance for `length` (a 429 with Retry-After): admit()
  // refuses it until then. Not waited for; a longer cooldown in place is kept.
  bool cool(std::string_view key, std::chrono::milliseconds length);

  // Sends what follows on `link` instead: the session's new link after a reconnection. Lease
  // ids stay unique, since the counter goes on.
  void rebind(RedisLink& link) { link_ = &link; }
  const RedisLink* link() const { return link_; }

  std::chrono::milliseconds lease_time() const { return lease_time_; }
  std::string leases_key(std::string_view key) const;
  std::string window_key(std::string_view key) const;
  std::string cooldown_key(std::string_view key) const;

 private:
  boost::asio::awaitable<Result<RedisReply>> run_script(std::string_view script,
                                                        const std::string& sha,
                                                        std::vector<std::string> keys_and_args,
                                                        std::size_t key_count);

  RedisLink* link_;
  std::string prefix_;
  std::string instance_id_;
  std::chrono::milliseconds lease_time_;
  std::uint64_t next_lease_ = 0;
  std::string admit_sha_;
  std::string renew_sha_;
};

// The SHA-1 of a script as Redis names it for EVALSHA (lower-case hex). Pure.
std::string script_sha1(std::string_view script);

}  // namespace bc::state
