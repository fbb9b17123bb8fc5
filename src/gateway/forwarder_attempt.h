// What one call through the Forwarder keeps between its steps: an attempt on one key
// (Attempt) and the call's state across attempts (CallState), with the helpers both halves of
// the Forwarder use. Internal to gateway/: forwarder.cpp opens attempts (select, lease,
// encode, send), forwarder_answer.cpp reads their answers (complete, stream, relay).
#pragma once

#include <algorithm>
#include <memory>
#include <optional>
#include <vector>

#include "gateway/call_plan.h"
#include "gateway/forwarder.h"
#include "gateway/shared_admission.h"

namespace bc::gateway::detail {

inline Error client_gone_error() {
  auto e = Error::upstream("the client closed the connection", "client_closed");
  e.retryable = false;
  e.http_status = 499;
  return e;
}

// A failed attempt as its key learns it.
inline balance::Outcome failure(const Error& e, Duration latency) {
  balance::Outcome o;
  o.ok = false;
  o.latency = latency;
  o.action = e.key_action;
  o.cooldown = e.cooldown;
  // Faults of the upstream itself open the key's breaker; rate limits and refused
  // credentials have their own answers, and the caller's mistakes are nobody's fault.
  o.concurrency_limited = e.code == "concurrency_limit_exceeded";
  o.fault = e.retryable && e.key_action == KeyAction::kNone &&
            (e.kind == ErrorKind::kUpstream || e.kind == ErrorKind::kTimeout ||
             e.kind == ErrorKind::kUnavailable || e.kind == ErrorKind::kInternal);
  return o;
}

}  // namespace bc::gateway::detail

namespace bc::gateway {

// What open() needs of one call, whatever it asks for: the model it names, what admission
// reserves, and the request a provider encodes (exactly one of `chat`, `embedding`). Views
// of the caller's request, which outlives the call.
struct Forwarder::Call {
  std::string_view model;  // empty: any model
  bool needs_tools = false;
  std::int64_t prompt_tokens = 0;  // estimated
  std::int64_t answer_tokens = 0;  // estimated; 0 for embeddings
  const ChatRequest* chat = nullptr;
  const EmbeddingRequest* embedding = nullptr;

  static Call of(const ChatRequest& request) {
    // ~4 characters a token for the prompt, plus the answer the caller allows.
    return Call{request.model,
                request.has_tools(),
                request.content_chars() / 4,
                request.max_answer_tokens().value_or(256),
                &request,
                nullptr};
  }
  static Call of(const EmbeddingRequest& request) {
    return Call{request.model, false, request.estimated_tokens(), 0, nullptr, &request};
  }
};

struct Forwarder::Attempt {
  Attempt(net::ClientWatch& w, std::size_t m, balance::Lease&& l, providers::Credential c)
      : watch(w), model(m), lease(std::move(l)), credential(std::move(c)) {}
  Attempt(const Attempt&) = delete;
  Attempt& operator=(const Attempt&) = delete;
  // The client watch points at this attempt's call: unhook it before the call goes away.
  ~Attempt() { watch.on_client_gone({}); }

  void settle(const balance::Outcome& outcome) {
    lease.settle(outcome, Clock::now());
    shared.settle(outcome.usage, outcome.ok);
  }
  Duration elapsed() const { return Clock::now() - started; }

  net::ClientWatch& watch;
  std::size_t model;
  balance::Lease lease;
  SharedLease shared;                // the key's slot in Redis (state.backend redis)
  providers::Credential credential;  // the key, with its derived token if it needs one
  UpstreamRequest request;           // until it is sent
  std::unique_ptr<net::UpstreamCall> call;
  TimePoint started = Clock::now();
};

struct Forwarder::CallState {
  std::optional<balance::Target> pinned;  // only this key (a probe)
  // Budgets, deadline, same-key retries and the final error: made by the first open().
  std::optional<CallPlan> plan;
  std::optional<TimePoint> deadline;  // for waiting in the admission queue
  AdmissionQueue::Ticket ticket;
  // A stream's bound on holding its head: set when the first upstream answers, kept across
  // the attempts that follow (see StreamPacer).
  std::optional<TimePoint> hold_until;
  int started = 0;             // attempts begun, for counting retries
  std::size_t last_model = 0;  // the model of the previous attempt, for counting failovers
  // With shared limits: the targets they refused since the last wait, skipped until then;
  // when to ask again at the latest; the slot taken in Redis, until the attempt holds it.
  std::vector<balance::Target> shared_refused;
  std::optional<TimePoint> shared_poll_at;
  SharedLease shared_lease;

  bool refused_shared(balance::Target target) const {
    return !shared_refused.empty() &&
           std::find(shared_refused.begin(), shared_refused.end(), target) != shared_refused.end();
  }
};

template <typename T, typename Settle>
awaitable<Result<T>> Forwarder::whole_answers(const Call& call, net::ClientWatch& client,
                                              CallReport& report, CallState& state,
                                              const Settle& settle) {
  const auto max_bytes = gateway_->config().upstream.max_response_bytes;
  for (;;) {
    auto opened = co_await open(call, client, report, state);
    if (!opened) co_return std::move(opened).error();
    auto& attempt = **opened;

    const auto read_start = Clock::now();
    auto body = co_await attempt.call->read_all(max_bytes);
    report.upstream_time += Clock::now() - read_start;
    if (std::optional<Result<T>> answer = settle(attempt, std::move(body))) {
      co_return std::move(*answer);
    }
  }
}

}  // namespace bc::gateway
