// The plan of one call, pure: which targets it may still try (the retry budgets), the one
// deadline every attempt is clipped to, when a failed attempt is retried on the same key
// after a backoff, the refresh-once rule of an expired derived credential, and the error the
// caller gets in the end. No I/O and no clock: times and the random source are parameters,
// so every combination is a millisecond unit test (call_plan_test.cpp). The Forwarder keeps
// only the I/O: lease, send, relay, settle.
#pragma once

#include <chrono>
#include <cstddef>
#include <optional>
#include <span>
#include <vector>

#include <boost/container/small_vector.hpp>

#include "balance/pool.h"
#include "core/clock.h"
#include "core/error.h"
#include "net/upstream.h"

namespace bc::gateway {

// What the plan needs to know of one configured model.
struct ModelBudget {
  double weight = 1;  // model_weight: 0 is served only when named
  bool supports_tools = false;
  std::size_t keys = 0;
  int max_retries = 0;  // attempts on the model beyond the first
  std::chrono::milliseconds total_timeout{300'000};
};

struct PlanSettings {
  int max_model_failovers = 2;  // other models a request for any model may move on to
  // A same-key retry waits backoff × 2^(n-1) (n: the retries of that key so far), at most
  // backoff_max, each drawn in [½, 1] of that (jitter), and never past the deadline.
  std::chrono::milliseconds backoff{100};
  std::chrono::milliseconds backoff_max{2000};
};

class CallPlan {
 public:
  // `named`: the model the request named (nullopt: any model); `pinned`: the only key a probe
  // may use. The deadline is `now` plus the named model's total timeout, or the longest of
  // the models the request may use.
  // `models` (indexed like the pool's) must outlive the plan: the Gateway keeps them.
  CallPlan(std::span<const ModelBudget> models, const PlanSettings& settings,
           std::optional<std::size_t> named, bool needs_tools,
           std::optional<balance::Target> pinned, TimePoint now);

  // Whether any model the request may use takes tools (false: the request cannot be served).
  bool tools_servable() const;
  TimePoint deadline() const { return deadline_; }
  std::chrono::milliseconds total() const { return total_; }
  bool expired(TimePoint now) const { return now >= deadline_; }

  // May an attempt start on `target` now: an untried key within its model's budget and the
  // models the request may move on to, or the key a same-key retry was granted for.
  bool may_try(balance::Target target) const;
  // Is any attempt left at all?
  bool has_budget() const;
  // An attempt began on `target`.
  void started(balance::Target target);

  // An attempt on `target` failed before anything reached the client; `error` is what it
  // failed with. Keeps it as the last error and decides whether the same key may be tried
  // again (see same_key_retry()). The refresh-once rule: an expired derived credential
  // (KeyAction::kRefreshCredential) makes the key untried again once, with no key action;
  // a second one disables the key. `error` is changed accordingly.
  void failed(balance::Target target, Error& error, TimePoint now, Rng& rng);

  // A same-key retry granted by failed(): the key, and when it may start. Used only when no
  // other target can take the request; it is consumed by started() on that key.
  struct Retry {
    balance::Target target;
    TimePoint not_before;
  };
  const std::optional<Retry>& same_key_retry() const { return retry_; }
  // The granted key cannot be tried after all (its breaker opened): forget the grant.
  void drop_same_key_retry() { retry_.reset(); }

  // A transient failure: one worth trying again on the same key after a pause (500, 502,
  // 503, 504, a refused or reset connection, a timeout before the first byte, a cut or
  // unreadable answer). Never a 4xx (408, 409 and 429 are transient, but 429 cools the key
  // and is not retried on it), never an error that cools, disables or refreshes the key.
  static bool transient(const Error& error);

  // The model's timeouts, each cut to what is left of the deadline (at least 1 ms), and
  // the deadline itself for the reads of a body.
  net::Timeouts clip(net::Timeouts timeouts, TimePoint now) const;

  const std::optional<Error>& last_error() const { return last_error_; }
  // The error of a request whose every attempt failed (needs last_error()).
  Error final_error() const;
  Error deadline_error() const;

  std::size_t attempts() const { return tried_.size(); }
  const boost::container::small_vector<balance::Target, 4>& tried() const { return tried_; }
  // The models this request may no longer fail over to: not its model, or their budget spent.
  // With tried(), what a retry's pick leaves out (balance::Demand).
  boost::container::small_vector<std::uint32_t, 4> closed_models() const;

 private:
  std::size_t tried_on(std::size_t model) const;
  std::size_t budget(std::size_t model) const;
  bool model_allowed(std::size_t model) const;
  bool is_tried(balance::Target target) const;

  std::span<const ModelBudget> models_;
  PlanSettings settings_;
  std::optional<std::size_t> named_;
  bool needs_tools_ = false;
  std::optional<balance::Target> pinned_;
  TimePoint deadline_;
  std::chrono::milliseconds total_{0};
  std::size_t max_models_ = 1;
  // Most requests try one key of one model: room for a few in place, no allocation.
  boost::container::small_vector<balance::Target, 4> tried_;  // every attempt, in order
  boost::container::small_vector<std::size_t, 2> models_tried_;
  std::vector<balance::Target> refreshed_;  // keys whose derived token was renewed once
  std::optional<Retry> retry_;
  int same_key_retries_ = 0;
  std::optional<Error> last_error_;
};

}  // namespace bc::gateway
