// The pool of models and keys with their live load: the one object the gateway asks "which
// model and key may serve this request now?". Pure: time and randomness come in as
// parameters; no I/O, no logging. Thread-safe: candidates(), try_acquire() and settling a
// lease may run concurrently on every worker thread (per-key state is atomic).
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "balance/breaker.h"
#include "core/chat.h"
#include "core/clock.h"
#include "core/error.h"
#include "core/result.h"
#include "core/time_zone.h"

namespace bc::balance {

struct KeySpec {
  std::string secret;  // the raw key (handed to the provider adapter, never shown)
  std::string id;      // public id: configured name or masked key
  double weight = 1;
};

struct ModelSpec {
  std::string name;
  double weight = 1;                     // model_weight
  std::string strategy = "concurrency";  // a name in balance/strategies/registry.cpp
  int max_concurrency = 0;               // per key; 0: unlimited
  double max_qps = 0;                    // per key; 0: unlimited
  bool supports_tools = false;
  std::vector<KeySpec> keys;
  std::int64_t rpm = 0;  // requests started per key in any 60 s; 0: unlimited
  std::int64_t tpm = 0;  // tokens per key in any 60 s (reserved at admission); 0: unlimited
  // Requests and tokens per key per quota day (reserved at admission like tpm); 0: unlimited.
  // The day starts at quota_reset_hour in quota_zone (core/time_zone.h).
  std::int64_t rpd = 0;
  std::int64_t tpd = 0;
  int quota_reset_hour = 0;
  TimeZone quota_zone;
  // Latency EWMA: the share of the old average a new sample keeps, once more for every second
  // since the previous sample (so old measurements fade). In (0, 1).
  double decay_factor = 0.8;
  // Effective key weights follow live load and latency (the seed's auto weights).
  bool auto_weight = false;
  // The cooldown when an outcome asks for one without a length (no Retry-After).
  std::chrono::milliseconds cooldown{5000};
  // How long a request may wait for a free key of this model; 0: the gateway's global setting.
  // Data only: the gateway runs the queue (see Pool::next_available and the release listener).
  std::chrono::milliseconds queue_timeout{0};
  // When repeated upstream faults take a key out of selection (balance/breaker.h).
  BreakerSettings breaker;
};

struct Target {
  std::uint32_t model = 0;
  std::uint32_t key = 0;
  friend bool operator==(const Target&, const Target&) = default;
};

// What a request needs from a target.
struct Demand {
  std::optional<std::size_t> model;  // a model the caller named; nullopt: any enabled model
  bool needs_tools = false;
  std::int64_t estimated_tokens = 0;
  // The wall-clock time of the request (Unix ms): the daily quotas' clock, given like `now`.
  // 0: daily quotas are not checked (no wall time known).
  std::int64_t wall_ms = 0;
  // candidates() stops after this many targets; 0: every target that can take the demand.
  // A few cost O(log keys) in a large model; 0 weighs and orders every key of every model,
  // O(keys log keys).
  std::size_t max_candidates = 0;
  // Targets this request already tried and models closed to it (its failover budget spent
  // there): candidates() offers none of them, so a retry asks for a few candidates as a
  // first attempt does, whatever the pool's size. Views into the caller's own lists.
  std::span<const Target> tried;
  std::span<const std::uint32_t> closed_models;
};

// How an attempt on a leased target ended; strategies learn from it.
struct Outcome {
  bool ok = false;
  std::chrono::nanoseconds latency{0};
  std::optional<Usage> usage;
  KeyAction action = KeyAction::kNone;
  std::chrono::milliseconds cooldown{0};
  // The upstream itself failed (5xx, connect error, timeout, broken answer): counts towards
  // the key's circuit breaker. Never set for the caller's own errors or rate limits.
  bool fault = false;
  // The upstream refused the request for too many in flight on the key: its effective
  // max_concurrency drops by one (to at least 1) until a request on it succeeds.
  bool concurrency_limited = false;
};

class Pool;
class KeyLoad;
class Strategy;

// A slot taken on one key. Move-only. Settle it once with the outcome; a lease destroyed
// unsettled frees its slot without teaching the strategies anything (client went away).
class Lease {
 public:
  Lease(Lease&& other) noexcept;
  Lease& operator=(Lease&& other) noexcept;
  Lease(const Lease&) = delete;
  Lease& operator=(const Lease&) = delete;
  ~Lease();

  Target target() const { return target_; }
  void settle(const Outcome& outcome, TimePoint now);
  // Frees the slot now without teaching the key anything, as destruction does: the client
  // went away, which is never the key's fault (no failure, no latency, no breaker count).
  void abandon();
  // Frees the slot as abandon() does and takes back what the admission counted (its start in
  // the QPS and RPM windows, its token reservation, its daily quota use), waking no waiter:
  // the request never started, because the limits shared with other instances
  // (gateway/shared_admission.h) refused it, and a waiter woken for the slot would only meet
  // the same refusal.
  void give_back(TimePoint now);
  // The token estimate the admission reserved (tpm, tpd; 0 when neither is set).
  std::int64_t reserved_tokens() const { return reserved_tokens_; }

 private:
  friend class Pool;
  Lease(Pool* pool, Target target, TimePoint started);
  Pool* pool_ = nullptr;
  Target target_;
  TimePoint started_;
  std::int64_t reserved_tokens_ = 0;  // the token estimate reserved at admission
  std::int64_t reserved_bucket_ = 0;  // where in the token window it was reserved
  bool breaker_trial_ = false;        // the half-open trial of the key's breaker
  // What give_back() takes back besides: the start in the QPS and RPM windows, the quota day.
  std::int64_t qps_bucket_ = 0;
  std::int64_t rpm_bucket_ = 0;
  std::int64_t quota_day_ = 0;
};

class Pool {
 public:
  // Errors name the offending model (unknown strategy, no keys, bad weight). With `previous`
  // (a reload), every key that model of `previous` also has, with the same secret and limits,
  // shares its live state: in-flight count, rate windows, cooldown, breaker, latency, drain;
  // its quarantine is lifted. A key whose limits changed starts afresh but stays cooling.
  static Result<std::unique_ptr<Pool>> create(std::vector<ModelSpec> models,
                                              Pool* previous = nullptr);
  ~Pool();

  std::size_t model_count() const;
  const ModelSpec& model(std::size_t index) const;
  std::optional<std::size_t> find_model(std::string_view name) const;

  // Targets that can take this demand now, in failover order: a model drawn by model_weight,
  // then that model's keys drawn by weight, then the next model ... Keys at their limit or
  // cooling down are left out. Empty when nothing can serve the demand now.
  std::vector<Target> candidates(const Demand& demand, TimePoint now, Rng& rng) const;

  // Checks the key's limits and takes a slot atomically; nullopt when another request took
  // the last slot since candidates() was called.
  std::optional<Lease> try_acquire(Target target, const Demand& demand, TimePoint now);

  // Counts what the usage ledger holds for a key's current quota day (read back at startup):
  // `requests` and `tokens` used in the day that holds `wall_ms`.
  void seed_quota(Target target, std::int64_t wall_ms, TimePoint now, std::int64_t requests,
                  std::int64_t tokens);
  // Admission against every daily quota also stays inside what the usage ledger granted
  // (KeyLoad::gate_quota); keys shared with the pool this one replaced are gated already.
  void gate_quotas();
  // Raises a key's grant (KeyLoad::grant_quota) and, when that lets it take more, puts it
  // back into selection and tells the release listener, so a queued request wakes. Any thread.
  void grant_quota(Target target, std::int64_t wall_ms, TimePoint now, std::int64_t day_start_ms,
                   std::int64_t requests, std::int64_t tokens);
  // Whether a key that could serve the demand waits for a grant only: capacity that will come
  // back (with the next grant) though no lease is running and no time is known. Asks for one
  // (the grant listener) when so.
  bool awaits_grant(const Demand& demand) const;
  // Called, on any thread, when a key runs short of its grant, so the grants' writer raises
  // them now. Must be cheap and must not block. Set it before the pool is shared.
  void set_grant_listener(std::function<void()> listener);

  // Requests in flight on one key right now.
  int in_flight(Target target) const;
  // Requests in flight on all keys of one model.
  int model_in_flight(std::size_t model) const;

  // The live state and limits of one key, and the strategy of one model (for reports/tests).
  const KeyLoad& load(Target target) const;
  const Strategy& strategy(std::size_t model) const;

  // The weight selection gives a key now: its weight x the strategy's factor x the auto-weight
  // factor; 0 when the key cannot take the demand now.
  double effective_weight(Target target, const Demand& demand, TimePoint now) const;
  // A model's weight in selection now: model_weight, scaled by free capacity with auto_weight.
  double effective_model_weight(std::size_t model, TimePoint now) const;

  // Operator actions; outcomes do the same through Lease::settle.
  void set_disabled(Target target, bool disabled);
  // A drained key takes no new request (candidates() and try_acquire() skip it); leases on it
  // settle as usual. Kept by a reload, like the rest of the key's live state.
  void set_drained(Target target, bool drained);
  // A key of a model by its public id; nullopt when the model or the id is unknown.
  std::optional<Target> find_key(std::string_view model, std::string_view key_id) const;
  void cool_down(Target target, TimePoint until);
  // The key's breaker stays open until `until` at least: another instance saw it open.
  void hold_breaker_open(Target target, TimePoint until);
  // The key's daily quota is used up across the instances (the limits shared in Redis said
  // so): skipped, and reported as "quota", until `until`.
  void block_quota(Target target, TimePoint until, TimePoint now);

  // For the admission queue: the earliest time at which some key could take the demand
  // without any lease ending (now, when one can already; the end of a cooldown; a rate window
  // making room). nullopt: only a lease ending can make room, or nothing ever will.
  std::optional<TimePoint> next_available(const Demand& demand, TimePoint now) const;
  // Called on the releasing thread after a lease frees its slot, so a queue can wake a waiter.
  // Must be cheap and must not block. Set it before the pool is shared between threads.
  void set_release_listener(std::function<void(Target)> listener);

 private:
  friend class Lease;
  Pool();
  // `unused`: the lease's admission is taken back (KeyLoad::refund) and no waiter is woken.
  void release(const Lease& lease, const Outcome* outcome, TimePoint now, bool unused = false);
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace bc::balance
