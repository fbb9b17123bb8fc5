#include "gateway/forwarder.h"

#include "gateway/forwarder_attempt.h"

#include <algorithm>
#include <random>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "balance/key_load.h"
#include "core/mask.h"
#include "gateway/mock_upstream.h"
#include "gateway/shared_admission.h"
#include "telemetry/metrics.h"

namespace bc::gateway {

using detail::client_gone_error;
using detail::failure;

namespace {

// A chat naming an embedding model, or an embeddings call naming a chat model: the caller's
// mistake, named plainly (a chat model's upstream would answer an embeddings call with
// something unreadable, or the other way round).
Error wrong_kind(const config::ModelConfig& model, bool embedding_call) {
  Error e = embedding_call
                ? Error::invalid_request("model '" + model.name +
                                             "' is a chat model, not an embedding model: name a "
                                             "model configured with 'embeddings: true' (GET "
                                             "/v1/models lists which models embed)",
                                         "model_not_embedding")
                : Error::invalid_request("model '" + model.name +
                                             "' is an embedding model: send it to POST "
                                             "/v1/embeddings, or name a chat model",
                                         "model_not_chat");
  e.param = "model";
  return e;
}

}  // namespace

Forwarder::Forwarder(std::shared_ptr<Gateway> gateway, boost::asio::any_io_executor executor,
                     std::shared_ptr<net::Upstream> http)
    : gateway_(std::move(gateway)),
      executor_(executor),
      http_(std::move(http)),
      rng_(std::random_device{}()) {
  mock_ = std::make_unique<MockUpstream>(executor_);
}

net::Upstream& Forwarder::upstream_for(std::string_view url) {
  return url.starts_with("mock://") ? *mock_ : *http_;
}

awaitable<Result<std::unique_ptr<Forwarder::Attempt>>> Forwarder::open(const Call& request,
                                                                       net::ClientWatch& client,
                                                                       CallReport& report,
                                                                       CallState& state) {
  auto& pool = gateway_->pool();
  balance::Demand demand;
  if (!request.model.empty()) {
    demand.model = pool.find_model(request.model);
    if (!demand.model) {
      co_return Error::not_found("model '" + std::string(request.model) +
                                     "' is not configured on this gateway (GET /v1/models "
                                     "lists the models)",
                                 "model_not_found");
    }
    // (A plain test here: an optional<Error> local would sit in every call's frame.)
    if (gateway_->model(*demand.model).config->embeddings != (request.embedding != nullptr)) {
      co_return wrong_kind(*gateway_->model(*demand.model).config, request.embedding != nullptr);
    }
  }
  demand.needs_tools = request.needs_tools;
  // A rough token estimate for limits that reserve tokens at admission.
  demand.estimated_tokens = request.prompt_tokens + request.answer_tokens;
  demand.wall_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                       std::chrono::system_clock::now().time_since_epoch())
                       .count();  // the daily quotas' clock
  report.estimate.prompt_tokens = request.prompt_tokens;
  report.estimate.total_tokens = demand.estimated_tokens;
  report.estimate.completion_tokens = demand.estimated_tokens - report.estimate.prompt_tokens;
  if (!state.plan) {
    state.plan.emplace(gateway_->budgets(), gateway_->plan_settings(), demand.model,
                       demand.needs_tools, state.pinned, Clock::now());
    if (!state.plan->tools_servable()) {
      co_return Error::invalid_param(
          "tools",
          demand.model ? "model '" + std::string(request.model) + "' does not support tools"
                       : "no enabled model supports tools",
          "tools_not_supported");
    }
  }
  auto& plan = *state.plan;
  // One candidate is needed (a few, should another request take the first). A retry's pick
  // leaves out the targets tried and the models closed (Demand::tried, closed_models), so a
  // few suffice for it too: O(log keys) however large the pool.
  demand.max_candidates = 3;
  auto& queue = gateway_->queue();

  while (plan.has_budget()) {
    if (client.client_gone()) co_return client_gone_error();
    const auto now = Clock::now();
    if (plan.expired(now)) co_return plan.deadline_error();
    std::optional<balance::Lease> lease;
    // A same-key retry after a transient failure, used only when no other target takes the
    // request, and not before its backoff.
    const auto& again = plan.same_key_retry();
    // Requests already waiting go first: a newcomer queues behind them instead of overtaking.
    if (state.pinned) {
      if (!state.refused_shared(*state.pinned))
        lease = pool.try_acquire(*state.pinned, demand, now);
    } else if (state.ticket.queued() || !queue.has_waiters(demand)) {
      const auto closed = plan.closed_models();
      demand.tried = plan.tried();
      demand.closed_models = closed;
      const auto candidates = pool.candidates(demand, now, rng_);
      demand.tried = {};
      demand.closed_models = {};
      for (const auto& target : candidates) {
        if (!plan.may_try(target) || (again && again->target == target)) continue;
        if (state.refused_shared(target)) continue;
        lease = pool.try_acquire(target, demand, now);
        if (lease) break;
      }
      if (!lease && again && !state.refused_shared(again->target)) {
        if (now < again->not_before) {
          co_await pause_until(again->not_before, client);
          continue;
        }
        lease = pool.try_acquire(again->target, demand, now);
        if (!lease &&
            pool.load(again->target).breaker().state(now) == balance::Breaker::State::kOpen) {
          // Never into a key whose breaker is open, nor a wait for it: the last error stands.
          plan.drop_same_key_retry();
          continue;
        }
      }
    }
    if (lease && shared_ != nullptr) {
      const bool admitted = co_await admit_shared(*lease, state);
      // Refused by the other instances' use of the key: its local slot goes back unused, with
      // nothing learnt and no waiter woken for it; the next candidate is tried.
      if (!admitted) {
        lease->give_back(Clock::now());
        continue;
      }
    }
    if (!lease) {
      const auto timeout = gateway_->queue_timeout(demand);
      if (timeout.count() <= 0) break;
      // Wait only if capacity can come back: a lease still running, or a cooldown or rate
      // window ending. Keys that are all disabled or drained will not; fail now instead of at
      // the deadline.
      if (!capacity_may_return(demand, now)) {
        if (plan.last_error()) break;
        co_return no_usable_key_error(request.model, demand);
      }
      if (!state.deadline) state.deadline = std::min(now + timeout, plan.deadline());
      const auto wait_start = Clock::now();
      // Refused by the shared limits: wait for a local slot to free or until they may have
      // room again, whichever comes first, then ask again (bounded polling). Local capacity
      // alone, free all along, wakes nothing.
      const bool polling = state.shared_poll_at.has_value();
      const auto wait_until =
          polling ? std::min(*state.deadline, *state.shared_poll_at) : *state.deadline;
      const auto wake = co_await queue.wait(demand, wait_until, executor_, client, state.ticket,
                                            report.caller, !polling);
      report.queue_time += Clock::now() - wait_start;
      if (polling) {
        state.shared_refused.clear();
        state.shared_poll_at.reset();
        if (wake == AdmissionQueue::Wake::kDeadline && Clock::now() < *state.deadline) continue;
      }
      if (wake == AdmissionQueue::Wake::kRetry) continue;
      if (wake == AdmissionQueue::Wake::kClientGone) co_return client_gone_error();
      if (wake == AdmissionQueue::Wake::kCallerFull) co_return caller_queue_full(report.caller);
      state.ticket.reset();
      if (plan.expired(Clock::now())) co_return plan.deadline_error();
      co_return busy_error(request.model, demand, wake == AdmissionQueue::Wake::kFull, timeout);
    }
    // Admitted: leave the queue now, so a wake-up meant for the next waiter is passed on.
    state.ticket.reset();
    const auto target = lease->target();
    plan.started(target);
    if (metrics_ != nullptr && state.started > 0) {
      metrics_->retry(target.model != state.last_model);
    }
    ++state.started;
    state.last_model = target.model;
    report.target = target;
    const auto& rt = gateway_->model(target.model);
    report.attempts = static_cast<int>(plan.attempts());
    report.model = rt.config->name;
    report.key_id = rt.credentials[target.key].id;
    // The key, the request and the call live in the attempt (on the heap), not in this
    // coroutine's frame (see below).
    auto attempt = std::make_unique<Attempt>(client, target.model, std::move(*lease),
                                             rt.credentials[target.key]);
    attempt->shared = std::move(state.shared_lease);
    attempt->credential.now_unix_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                                          std::chrono::system_clock::now().time_since_epoch())
                                          .count();

    if (needs_token(rt, target, attempt->credential)) {
      // A provider whose keys are exchanged for short-lived tokens (Baidu legacy).
      const auto sent = Clock::now();
      const bool minted = co_await mint_token(rt, target, attempt->credential, client, state);
      report.upstream_time += Clock::now() - sent;
      if (!minted) {
        if (client.client_gone()) {
          abandon(*attempt);
          co_return client_gone_error();
        }
        attempt->settle(failure(*plan.last_error(), Clock::now() - sent));
        // Not a local of this coroutine's frame: the outcome is made again (see below).
        if (shared_ != nullptr) shared_->failed(*gateway_, target, failure(*plan.last_error(), {}));
        if (!plan.last_error()->retryable) co_return *plan.last_error();
        continue;
      }
    }

    // The request cannot be expressed for this provider: the caller's problem, not the key's.
    if (!encode_into(*attempt, rt, request, state)) co_return *plan.last_error();
    auto* call = attempt->call.get();
    client.on_client_gone([call] { call->cancel(); });

    attempt->started = Clock::now();
    const Status started =
        co_await call->start(attempt->request, plan.clip(rt.timeouts, Clock::now()));
    attempt->request = UpstreamRequest{};  // sent: an open stream does not keep it
    report.upstream_time += attempt->elapsed();
    if (!started) {
      if (client.client_gone()) {
        abandon(*attempt);
        co_return client_gone_error();
      }
      // A timeout cut short by the request's deadline is not the key's fault.
      if (settle_start_failure(*attempt, started.error(), state)) co_return plan.deadline_error();
      if (!plan.last_error()->retryable) co_return *plan.last_error();
      continue;
    }
    if (call->status() / 100 != 2) {
      co_await settle_refusal(*attempt, rt, state, report, client);
      if (client.client_gone()) co_return client_gone_error();
      if (!plan.last_error()->retryable) co_return *plan.last_error();
      continue;
    }
    co_return attempt;
  }

  if (plan.last_error()) co_return plan.final_error();
  co_return busy_error(request.model, demand, false, std::chrono::milliseconds(0));
}

awaitable<void> Forwarder::pause_until(TimePoint at, net::ClientWatch& client) {
  boost::asio::steady_timer timer(executor_, at);
  // A client that leaves ends the pause at once (open() then answers that it left).
  client.on_client_gone([&timer] { timer.cancel(); });
  co_await timer.async_wait(boost::asio::as_tuple(boost::asio::use_awaitable));
  client.on_client_gone({});
}

awaitable<bool> Forwarder::admit_shared(const balance::Lease& lease, CallState& state) {
  const auto verdict = co_await shared_->admit(*gateway_, lease, state.shared_lease);
  if (verdict.admitted) co_return true;
  // Another instance saw the key answer 429: it cools here too, out of selection until then.
  if (verdict.cooling)
    gateway_->pool().cool_down(lease.target(), Clock::now() + verdict.retry_after);
  // Another instance's breaker holds the key open: open here too for the same time.
  if (verdict.breaker_open)
    gateway_->pool().hold_breaker_open(lease.target(), Clock::now() + verdict.retry_after);
  // Another instance's upstream refused the key: quarantined here too.
  if (verdict.quarantined) gateway_->pool().set_disabled(lease.target(), true);
  // The key's day is used up over the instances: at quota here too until the day ends.
  if (verdict.quota) {
    const auto now = Clock::now();
    gateway_->pool().block_quota(lease.target(), now + verdict.retry_after, now);
  }
  state.shared_refused.push_back(lease.target());
  const auto again = Clock::now() + verdict.retry_after;
  if (!state.shared_poll_at || again < *state.shared_poll_at) state.shared_poll_at = again;
  co_return false;
}

void Forwarder::abandon(Attempt& attempt) {
  // The client left: its slot is free now and the key learns nothing (no failure, no
  // latency, no breaker count, no lowered concurrency). Never the key's fault.
  attempt.lease.abandon();
  attempt.shared.release();
  count_attempt(attempt.lease.target(), nullptr, true);
}

// The rare paths of open() live in functions of their own: GCC keeps every local of a
// coroutine in its frame, and above 1 KiB a frame is one aligned allocation per request
// instead of a block Asio recycles.

bool Forwarder::needs_token(const ModelRuntime& rt, balance::Target target,
                            providers::Credential& credential) {
  if (!rt.provider->credential_request(credential)) return false;
  auto token = gateway_->credentials().get(target, Clock::now());
  if (!token) return true;
  credential.derived_token = std::move(*token);
  return false;
}

awaitable<bool> Forwarder::mint_token(const ModelRuntime& rt, balance::Target target,
                                      providers::Credential& credential, net::ClientWatch& client,
                                      CallState& state) {
  const auto exchange = rt.provider->credential_request(credential);
  const auto sent = Clock::now();
  auto minted = co_await exchange_credential(rt, *exchange, client, state);
  if (!minted) {
    if (client.client_gone()) co_return false;  // open() abandons the attempt
    auto error = std::move(minted).error();
    count_attempt(target, &error);
    redact_secret(error.message, credential.secret);  // the exchange's own answer
    state.plan->failed(target, error, Clock::now(), rng_);
    co_return false;
  }
  const auto lifetime =
      minted->refresh_after.count() > 0 ? minted->refresh_after : std::chrono::hours(1);
  gateway_->credentials().put(target, minted->token, sent + lifetime);
  credential.derived_token = std::move(minted->token);
  co_return true;
}

bool Forwarder::encode_into(Attempt& attempt, const ModelRuntime& rt, const Call& request,
                            CallState& state) {
  auto encoded = request.chat != nullptr
                     ? rt.provider->encode(*request.chat, attempt.credential)
                     : rt.provider->encode_embeddings(*request.embedding, attempt.credential);
  if (!encoded) {
    attempt.settle(failure(Error{}, Duration{}));
    auto error = std::move(encoded).error();
    error.retryable = false;  // the caller's request, not the key: no other key would do
    state.plan->failed(attempt.lease.target(), error, Clock::now(), rng_);
    return false;
  }
  attempt.request = std::move(*encoded);
  attempt.call = upstream_for(attempt.request.url).call(rt.tls);
  return true;
}

bool Forwarder::settle_start_failure(Attempt& attempt, Error error, CallState& state) {
  const bool late = state.plan->expired(Clock::now());
  if (late) error.retryable = false;
  settle_failure(attempt, std::move(error), state);
  return late;
}

awaitable<void> Forwarder::settle_refusal(Attempt& attempt, const ModelRuntime& rt,
                                          CallState& state, CallReport& report,
                                          net::ClientWatch& client) {
  auto& call = *attempt.call;
  const auto read_start = Clock::now();
  auto body = co_await call.read_all(64 * 1024);
  report.upstream_time += Clock::now() - read_start;
  if (client.client_gone()) {
    abandon(attempt);
    co_return;
  }
  auto error = rt.provider->classify(call.status(), call.headers(),
                                     body ? std::string_view(*body) : std::string_view());
  settle_failure(attempt, std::move(error), state);
}

void Forwarder::settle_failure(Attempt& attempt, Error error, CallState& state) {
  const auto target = attempt.lease.target();
  // The key's derived token (Baidu access_token, Zhipu JWT) is dead: forget it; the plan
  // retries the key once with a fresh one (CallPlan::failed).
  if (error.key_action == KeyAction::kRefreshCredential) gateway_->credentials().drop(target);
  // Before the plan keeps the error: an upstream may echo the key (or the token made from
  // it) in a form scrub_message's heuristic misses, so the exact secrets are masked here.
  redact_secret(error.message, attempt.credential.secret);
  redact_secret(error.message, attempt.credential.derived_token);
  state.plan->failed(target, error, Clock::now(), rng_);
  const auto learnt = failure(error, attempt.elapsed());
  attempt.settle(learnt);
  count_attempt(target, &error);
  // A breaker left open or a quarantine: every instance leaves the key alone as this one does.
  if (shared_ != nullptr) shared_->failed(*gateway_, target, learnt);
  // A 429 (with Retry-After, or the model's cooldown): every instance leaves the key alone.
  if (shared_ != nullptr && error.key_action == KeyAction::kCooldown) {
    const auto length =
        error.cooldown.count() > 0 ? error.cooldown : gateway_->pool().model(target.model).cooldown;
    shared_->cool(*gateway_, target, length);
  }
}

void Forwarder::count_attempt(balance::Target target, const Error* error, bool cancelled) {
  if (metrics_ == nullptr) return;
  auto outcome = telemetry::AttemptOutcome::kOk;
  if (cancelled) {
    outcome = telemetry::AttemptOutcome::kCancelled;
  } else if (error != nullptr) {
    outcome = error->kind == ErrorKind::kRateLimited ? telemetry::AttemptOutcome::kRateLimited
              : error->kind == ErrorKind::kTimeout   ? telemetry::AttemptOutcome::kTimeout
                                                     : telemetry::AttemptOutcome::kError;
  }
  metrics_->attempt(target, outcome);
}

awaitable<Result<providers::DerivedCredential>> Forwarder::exchange_credential(
    const ModelRuntime& rt, const UpstreamRequest& exchange, net::ClientWatch& client,
    const CallState& state) {
  auto call = upstream_for(exchange.url).call(rt.tls);
  auto* raw = call.get();
  client.on_client_gone([raw] { raw->cancel(); });
  auto started = co_await call->start(exchange, state.plan->clip(rt.timeouts, Clock::now()));
  Result<std::string> body = Error::internal("unreachable");
  if (started) {
    body = co_await call->read_all(64 * 1024);
  } else {
    body = std::move(started).error();
  }
  client.on_client_gone({});
  if (!body) co_return std::move(body).error();
  UpstreamResponse response{call->status(), call->take_headers(), std::move(body).value()};
  co_return rt.provider->decode_credential(response);
}

bool Forwarder::capacity_may_return(const balance::Demand& demand, TimePoint now) const {
  const auto& pool = gateway_->pool();
  if (pool.next_available(demand, now)) return true;
  // A key short of its daily quota's grant gets one from the ledger's writer in milliseconds.
  if (pool.awaits_grant(demand)) return true;
  for (std::size_t i = 0; i < pool.model_count(); ++i) {
    if (demand.model && *demand.model != i) continue;
    if (pool.model_in_flight(i) > 0) return true;
  }
  return false;
}

Error Forwarder::no_usable_key_error(std::string_view model, const balance::Demand& demand) const {
  auto e = Error::unavailable(
      (demand.model ? "no key of model '" + std::string(model) + "'" : std::string("no key")) +
          " can serve requests: every one is quarantined after its upstream refused it (bad "
          "credentials or no balance) or drained by an operator; fix the keys and reload, or "
          "lift or undrain them (POST /admin/keys/lift, /admin/keys/undrain)",
      "no_usable_key");
  e.source = "gateway";
  return e;
}

Error Forwarder::caller_queue_full(const Caller& caller) {
  Error e;
  e.kind = ErrorKind::kRateLimited;
  e.code = "client_queue_full";
  e.message = "client '" + std::string(caller.name) + "' already has " +
              std::to_string(caller.max_queued) +
              " requests waiting for a free key (its max_queued); retry shortly";
  e.cooldown = std::chrono::seconds(1);
  return e;
}

Error Forwarder::busy_error(std::string_view model, const balance::Demand& demand, bool queue_full,
                            std::chrono::milliseconds waited) const {
  Error busy;
  busy.kind = ErrorKind::kRateLimited;
  const std::string scope =
      demand.model ? "every key of model '" + std::string(model) + "'" : "every key of every model";
  if (queue_full) {
    busy.code = "queue_full";
    busy.message = "the gateway's admission queue is full (" +
                   std::to_string(gateway_->queue().waiting()) +
                   " requests waiting); retry shortly";
  } else {
    busy.code = "capacity_exhausted";
    busy.message = scope + " is at its limit or cooling down";
    if (waited.count() > 0) {
      busy.message +=
          ", and none freed within the " + std::to_string(waited.count()) + " ms queue timeout";
    }
    busy.message += "; retry shortly";
  }
  // Retry-After: when the pool knows when capacity returns by itself, else one second.
  const auto now = Clock::now();
  busy.cooldown = std::chrono::seconds(1);
  if (const auto next = gateway_->pool().next_available(demand, now); next && *next > now) {
    busy.cooldown =
        std::max(busy.cooldown, std::chrono::duration_cast<std::chrono::milliseconds>(*next - now));
  }
  return busy;
}

}  // namespace bc::gateway
