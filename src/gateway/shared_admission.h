// One worker's admission against the limits every instance shares (`state.backend: redis`):
// after the local pool has picked a key and taken its local slot, the key's max_concurrency,
// max_qps, rpm, tpm, rpd and tpd are checked and taken in Redis in one round trip
// (state/shared_limits.h); the tokens reserved for tpm and tpd are settled with the real use
// when the attempt ends, in the release, without waiting. While
// the worker's Redis session is down, or a call to it fails or is too slow, the key is
// admitted on this instance's share of each limit instead (state/degraded.h: limit ÷ live
// instances, from the heartbeats). Redis's concurrency slots are leases: released without
// waiting when the attempt ends, renewed from one timer while it runs (a stream), so the
// slots of an instance that dies come back within state.lease_ms.
//
// Key health is shared the same way: the same round trip reads the key's marks (a cooldown
// after a 429, a breaker held open, a quarantine, a lowered concurrency), which this worker
// writes when its attempts teach the key one (cool(), failed()), one command not waited for.
// Keys without any limit are admitted in Redis for their health alone. The load reports read
// the keys' in-flight counts over every instance from here too (in_flight()).
//
// One per worker thread, made on that worker's executor and used only there (its Redis
// session is that loop's; no blocking call, no thread of its own). Made with make_shared.
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "balance/pool.h"
#include "core/clock.h"
#include "gateway/shared_state.h"
#include "state/redis_session.h"
#include "state/shared_limits.h"

namespace bc::gateway {

// A key's name in Redis: its model and the first 16 hex digits of the SHA-1 of its secret
// (never the secret, and not the public id, which two keys' masked forms may share). Every
// instance with the same config computes the same name, so they count the same key together.
// The gateway computes it once per key (Gateway::shared_id), not per request.
std::string shared_key_id(const std::string& model, const std::string& secret);

class Gateway;
class SharedAdmission;

// What an admission holds in Redis: a concurrency slot, the tokens reserved for tpm and tpd.
// Move-only; released (not waited for) by settle(), release() or when destroyed. Empty when
// the key has none of these limits or it was admitted degraded.
class SharedLease {
 public:
  SharedLease() = default;
  SharedLease(SharedLease&& other) noexcept { *this = std::move(other); }
  SharedLease& operator=(SharedLease&& other) noexcept;
  SharedLease(const SharedLease&) = delete;
  SharedLease& operator=(const SharedLease&) = delete;
  ~SharedLease() { release(); }
  // Frees the slot; the reserved tokens stay as estimated (no usage known).
  void release();
  // Frees the slot and replaces the reserved tokens with `usage`'s, when known. `ok`: the
  // attempt succeeded (which ends a lowered concurrency of the key).
  void settle(const std::optional<Usage>& usage, bool ok);

 private:
  friend class SharedAdmission;
  SharedAdmission* owner_ = nullptr;
  std::uint64_t id_ = 0;
};

class SharedAdmission : public std::enable_shared_from_this<SharedAdmission> {
 public:
  // A refusal by the concurrency limit says nothing of when a slot frees (another instance's
  // request ends): the refused request tries again after this, or sooner when a local slot
  // frees. Polling bounded this way costs a waiting request one Redis call per interval.
  static constexpr std::chrono::milliseconds kConcurrencyPoll{25};
  // Degraded, a key at its share of rpm, tpm, rpd or tpd: asked again after this (a minute
  // window frees room by the second).
  static constexpr std::chrono::milliseconds kDegradedRatePoll{250};

  struct Verdict {
    bool admitted = true;
    // When refused: when to ask again (the rate window's own answer, the time left of the
    // key's shared cooldown, or kConcurrencyPoll).
    std::chrono::milliseconds retry_after{0};
    // Refused because another instance saw the key answer 429: it cools here too until then.
    bool cooling = false;
    // Refused because the key's daily quota is used up over the instances: it is at quota
    // here too until retry_after (the end of its quota day).
    bool quota = false;
    // Refused because another instance's breaker holds the key open: open here too until then.
    bool breaker_open = false;
    // Refused because another instance's upstream refused the key (credentials, balance): it
    // is quarantined here too, until an operator lifts it or reloads.
    bool quarantined = false;
  };

  // How long a quarantine's mark stays in Redis: instances that try the key meanwhile
  // quarantine it without a request of their own; one that first tries it later pays one
  // refused request, as without Redis. A lift (lift()) or a reload takes the mark away.
  static constexpr std::chrono::milliseconds kQuarantineMark{std::chrono::hours(1)};
  // How long a key's concurrency lowered in Redis after "too many in flight" lasts without a
  // success on the key (one ends it at once): a lowering nobody clears cannot stick.
  static constexpr std::chrono::milliseconds kLoweredConcurrency{std::chrono::seconds(60)};

  SharedAdmission(std::shared_ptr<SharedState> state, boost::asio::any_io_executor executor);
  ~SharedAdmission();
  SharedAdmission(const SharedAdmission&) = delete;
  SharedAdmission& operator=(const SharedAdmission&) = delete;

  // Starts the Redis session and the renewal timer.
  void start();

  // Admits the target of `lease` (a local slot already taken on `gateway`'s pool) across the
  // instances. Admitted: `out` holds the Redis slot, if any. Refused: the caller gives the
  // local slot back (Lease::give_back) and tries another key or waits until retry_after.
  boost::asio::awaitable<Verdict> admit(const Gateway& gateway, const balance::Lease& lease,
                                        SharedLease& out);

  // The key of `target` answered 429 (with Retry-After: `length`): every instance leaves it
  // alone until then. Sent without waiting; nothing while Redis is down.
  void cool(const Gateway& gateway, balance::Target target, std::chrono::milliseconds length);
  // An attempt on `target` failed and its key learnt `outcome` (already settled on the pool):
  // when that left the key's breaker open, every instance holds it open for the time left;
  // when it quarantined the key, every instance quarantines it; when the upstream said "too
  // many in flight", every instance holds the key one below its concurrency (a key with
  // max_concurrency). One command each, not waited for; nothing while Redis is down.
  void failed(const Gateway& gateway, balance::Target target, const balance::Outcome& outcome);
  // An operator lifted the quarantine of `target` (or a reload did): its mark in Redis goes,
  // so that no instance quarantines the key again from it. Not waited for.
  void lift(const Gateway& gateway, balance::Target target);
  // The Redis ids of the keys `pool` holds quarantined (what a reload lifts).
  static std::vector<std::string> quarantined_ids(const balance::Pool& pool);
  void lift_ids(const std::vector<std::string>& ids);

  // The requests in flight over every instance (their leases in Redis) on the keys with
  // max_concurrency of `models` in `gateway`'s pool, by [model][key] (-1: not counted, no
  // max_concurrency); nullopt while Redis is down or when the call fails (the reports then
  // give this instance's figures). One round trip; nothing taken.
  using InFlight = std::vector<std::vector<int>>;
  boost::asio::awaitable<std::optional<InFlight>> in_flight(const Gateway& gateway,
                                                            std::vector<std::size_t> models);

  const SharedState& state() const { return *state_; }
  // The client of the shared limits on a live link; nullptr while Redis is down (degraded).
  state::SharedLimitsClient* live_client() { return live_link() != nullptr ? &*client_ : nullptr; }
  // The instances alive at the last heartbeat, for degraded shares; this one alone before any.
  state::LiveView live() const { return session_ ? session_->live() : state::LiveView{}; }

 private:
  friend class SharedLease;
  struct Held {
    std::string key;             // the key's Redis id
    std::string lease;           // the lease's id in Redis
    TimePoint since;             // admitted or last renewed
    bool renewed = false;        // a concurrency slot (renewed while it runs)
    std::int64_t reserved = -1;  // the tokens reserved for tpm or tpd; -1: none
    bool capped = false;         // admitted under the key's lowered concurrency
    state::SharedSettlement settlement;
  };

  state::RedisLink* live_link();
  Verdict admit_degraded(const Gateway& gateway, const balance::Lease& lease,
                         const std::string& id);
  void release(std::uint64_t id, const std::optional<Usage>* usage, bool ok);
  void schedule_renewals();
  void renew_due();

  std::shared_ptr<SharedState> state_;
  boost::asio::any_io_executor executor_;
  std::shared_ptr<state::RedisSession> session_;
  std::optional<state::SharedLimitsClient> client_;  // bound to the session's current link
  boost::asio::steady_timer renew_timer_;
  int tag_;          // this worker's number in the instance, for unique lease ids
  bool up_ = false;  // what the session last announced
  std::unordered_map<std::uint64_t, Held> held_;
  std::uint64_t next_held_ = 0;
};

}  // namespace bc::gateway
