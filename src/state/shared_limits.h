// A key's limits taken in Redis, shared by every instance that uses the same Redis and
// key_prefix: max_concurrency as leases with an expiry (a crashed instance's slots come back
// within the lease time), max_qps as an exact one-second window, rpm and tpm as minute windows
// counted by the second, rpd and tpd as counts of the key's quota day; and the key's health
// (cooldown, breaker held open, quarantine) as marks with an expiry. One round trip to admit
// (EVALSHA of state/admission_script.h); release (with the settling of the reserved tokens),
// and renewal are sent without waiting.
// Use from the executor of the link it was given.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.h"
#include "state/redis_link.h"
#include "state/resp_command.h"

namespace bc::state {

struct SharedLimits {
  int max_concurrency = 0;  // 0: no limit
  double max_qps = 0;       // 0: no limit; below 1, one request per 1/max_qps seconds
  std::int64_t rpm = 0;     // requests started in any minute; 0: no limit
  std::int64_t tpm = 0;     // tokens in any minute (reserved at admission); 0: no limit
  std::int64_t rpd = 0;     // requests per quota day; 0: no limit
  std::int64_t tpd = 0;     // tokens per quota day (reserved at admission); 0: no limit
  bool any() const {
    return max_concurrency > 0 || max_qps > 0 || rpm > 0 || tpm > 0 || rpd > 0 || tpd > 0;
  }
  bool tokens() const { return tpm > 0 || tpd > 0; }
};

// What one request takes besides a start: its token estimate (tpm, tpd) and the quota day it
// counts in (rpd, tpd), which the gateway computes from the model's reset hour and zone.
struct SharedDemand {
  std::int64_t tokens = 0;
  std::int64_t day_start_ms = 0;  // Unix ms; names the day's counters
  std::int64_t day_ttl_ms = 0;    // how long they are kept: to the day's end and a margin
};

// The rate window the admission script keeps for `max_qps`: so many admissions per so many
// milliseconds (0 admissions: no rate limit). Pure.
struct RateWindow {
  int admissions = 0;
  long long window_ms = 1000;
};
RateWindow rate_window_for(double max_qps);

struct SharedAdmission {
  enum class Outcome {
    kAdmitted,
    kConcurrencyFull,
    kRateFull,
    kCooling,
    kQuotaFull,
    kBreakerOpen,  // some instance's breaker holds the key open
    kQuarantined,  // some instance's upstream refused the key (credentials, balance)
  };
  Outcome outcome = Outcome::kAdmitted;
  long long in_flight = 0;  // live leases on the key over every instance
  // kRateFull: when the window frees a slot; kCooling, kBreakerOpen, kQuarantined: when
  // that mark of the key's health expires.
  std::chrono::milliseconds retry_after{0};
  std::string lease;  // kAdmitted with some limit: what release() and renew() take
  // kAdmitted: the second the minute windows counted it in (what settle() takes).
  std::int64_t second = 0;
  // kQuotaFull: the key's day is used up (else only this request's estimate did not fit).
  bool day_used_up = false;
  // kAdmitted, kConcurrencyFull: the key's lowered concurrency held it (lower_concurrency()).
  bool capped = false;
};

// What settle() corrects: the real tokens used minus the reservation, where it was counted.
struct SharedSettlement {
  std::int64_t second = 0;        // SharedAdmission::second
  std::int64_t day_start_ms = 0;  // SharedDemand::day_start_ms (0: no quota day)
  std::int64_t delta = 0;
  bool tpm = false;
};

// A client's budgets and what one request takes from them (state/budget_script.h). The
// periods are the UTC day and month holding the request's time, as the local budgets count.
struct BudgetClaim {
  std::int64_t requests_per_day = 0;  // 0: none
  std::int64_t tokens_per_day = 0;
  std::int64_t tokens_per_month = 0;
  std::int64_t tokens = 0;  // the request's estimate
  std::int64_t day_start_ms = 0;
  std::int64_t day_ttl_ms = 0;
  std::int64_t month_start_ms = 0;
  std::int64_t month_ttl_ms = 0;
};
enum class BudgetOutcome { kTaken, kRequestsPerDay, kTokensPerDay, kTokensPerMonth };

class SharedLimitsClient {
 public:
  // `instance_id` makes lease ids unique across instances; `lease_time` is how long a lease
  // lives without renewal.
  SharedLimitsClient(RedisLink& link, std::string key_prefix, std::string instance_id,
                     std::chrono::milliseconds lease_time);

  // Checks the health marks of `key` (a stable id: model and key id) and takes every limit at
  // once. With no limit at all, only the marks are checked (still one round trip).
  boost::asio::awaitable<Result<SharedAdmission>> admit(std::string key, SharedLimits limits,
                                                        SharedDemand demand = {});
  // Frees the lease; not waited for. False when the link is down (the lease then expires).
  bool release(std::string_view key, std::string_view lease);
  // Frees the lease as release() does and replaces the tokens the admission reserved with the
  // real use, in one script; not waited for. False when the link is down (the reservation then
  // stays as estimated, as the local pool's does when no usage is known).
  bool settle(std::string_view key, std::string_view lease, const SharedSettlement& settlement);
  // Pushes the lease's expiry on by the lease time; not waited for.
  bool renew(std::string_view key, std::string_view lease);
  // Cools `key` down for every instance for `length` (a 429 with Retry-After): admit()
  // refuses it until then. Not waited for; a longer cooldown in place is kept.
  bool cool(std::string_view key, std::chrono::milliseconds length);
  // Holds `key`'s breaker open for every instance for `length`: admit() refuses it until then.
  // Not waited for; a longer one in place is kept.
  bool open_breaker(std::string_view key, std::chrono::milliseconds length);
  // Marks `key` quarantined for every instance for `length`; not waited for, a longer mark
  // kept. lift() takes the mark away (an operator lifted the quarantine).
  bool quarantine(std::string_view key, std::chrono::milliseconds length);
  bool lift(std::string_view key);
  // The upstream answered "too many in flight" on `key`: admit() holds it one below the
  // concurrency it is held to now (at least 1; `max_concurrency` configured), for every
  // instance, until restore_concurrency() (a success on the key) or `length` without one.
  // Not waited for.
  bool lower_concurrency(std::string_view key, int max_concurrency,
                         std::chrono::milliseconds length);
  bool restore_concurrency(std::string_view key);

  // The requests in flight on each of `keys` (with max_concurrency) over every instance: their
  // live leases. One round trip; nothing taken.
  boost::asio::awaitable<Result<std::vector<long long>>> in_flight(std::vector<std::string> keys);

  // Takes one request and its estimate from `client`'s budgets, or nothing when it would
  // cross one (which, in the answer). One round trip.
  boost::asio::awaitable<Result<BudgetOutcome>> take_budget(std::string client, BudgetClaim claim);
  // Replaces the reservation taken in those periods with the real use (`delta`: used minus
  // reserved); not waited for.
  bool settle_budget(std::string_view client, std::int64_t day_start_ms,
                     std::int64_t month_start_ms, std::int64_t delta);

  // Sends what follows on `link` instead: the session's new link after a reconnection. Lease
  // ids stay unique, since the counter goes on.
  void rebind(RedisLink& link) { link_ = &link; }
  const RedisLink* link() const { return link_; }

  std::chrono::milliseconds lease_time() const { return lease_time_; }
  std::string leases_key(std::string_view key) const;
  std::string window_key(std::string_view key) const;
  std::string cooldown_key(std::string_view key) const;
  std::string breaker_key(std::string_view key) const;
  std::string quarantine_key(std::string_view key) const;
  std::string cap_key(std::string_view key) const;
  std::string rpm_key(std::string_view key) const;
  std::string tpm_key(std::string_view key) const;
  std::string day_key(std::string_view key, std::int64_t day_start_ms) const;
  std::string budget_key(std::string_view client, std::string_view period,
                         std::int64_t start_ms) const;

 private:
  boost::asio::awaitable<Result<RedisReply>> run_script(std::string_view script,
                                                        const std::string& sha,
                                                        const RespArgs& keys_and_args,
                                                        std::size_t key_count);

  RedisLink* link_;
  std::string prefix_;
  std::string instance_id_;
  std::chrono::milliseconds lease_time_;
  std::uint64_t next_lease_ = 0;
  std::string admit_sha_;
  std::string renew_sha_;
  std::string budget_sha_;
  std::string in_flight_sha_;
};

// The SHA-1 of a script as Redis names it for EVALSHA (lower-case hex). Pure.
std::string script_sha1(std::string_view script);

}  // namespace bc::state
