// The Forwarder's second half: reading an opened attempt's answer, whole (complete) or as a
// stream relayed to the client (stream, relay), and settling it. Opening attempts is
// forwarder.cpp.
#include <vector>

#include "gateway/delta_scratch.h"
#include "gateway/forwarder.h"
#include "gateway/forwarder_attempt.h"
#include "gateway/stream_pacer.h"
#include "telemetry/metrics.h"

namespace bc::gateway {

using detail::client_gone_error;
using detail::failure;

awaitable<Result<ChatResponse>> Forwarder::complete(const ChatRequest& request,
                                                    net::ClientWatch& client, CallReport& report) {
  CallState state;
  co_return co_await complete(request, client, report, state);
}

awaitable<Result<ChatResponse>> Forwarder::complete_on(balance::Target target,
                                                       const ChatRequest& request,
                                                       net::ClientWatch& client,
                                                       CallReport& report) {
  CallState state;
  state.pinned = target;
  co_return co_await complete(request, client, report, state);
}

awaitable<Result<ChatResponse>> Forwarder::complete(const ChatRequest& request,
                                                    net::ClientWatch& client, CallReport& report,
                                                    CallState& state) {
  const Call call = Call::of(request);
  auto settle = [&](Attempt& attempt, Result<std::string> body) {
    return settle_answer(request, attempt, std::move(body), client, state, report);
  };
  co_return co_await whole_answers<ChatResponse>(call, client, report, state, settle);
}

std::optional<Result<ChatResponse>> Forwarder::settle_answer(const ChatRequest& request,
                                                             Attempt& attempt,
                                                             Result<std::string> body,
                                                             net::ClientWatch& client,
                                                             CallState& state, CallReport& report) {
  const auto& rt = gateway_->model(attempt.model);
  Result<ChatResponse> decoded = Error::internal("unreachable");
  if (body) {
    // The headers are read only to classify a failed answer (Retry-After and the like):
    // an answer that decodes never builds them, one that does not is decoded again with
    // them (decode() is pure).
    UpstreamResponse response{attempt.call->status(), {}, std::move(body).value()};
    decoded = rt.provider->decode_for(request, response);
    if (!decoded) {
      response.headers = attempt.call->take_headers();
      decoded = rt.provider->decode_for(request, response);
    }
  } else {
    decoded = std::move(body).error();
  }
  if (!decoded) {
    auto failed = settle_decode_failure(attempt, std::move(decoded).error(), client, state);
    if (!failed) return std::nullopt;
    return std::move(*failed);
  }
  settle_success(attempt, decoded->usage, report);
  return decoded;
}

std::optional<Error> Forwarder::settle_decode_failure(Attempt& attempt, Error error,
                                                      net::ClientWatch& client, CallState& state) {
  if (client.client_gone()) {
    abandon(attempt);
    return client_gone_error();
  }
  const bool late = state.plan->expired(Clock::now());
  if (late) error.retryable = false;  // cut short by the deadline: not the key's fault
  settle_failure(attempt, std::move(error), state);
  if (late) return state.plan->deadline_error();
  const auto& last = *state.plan->last_error();
  if (last.retryable) return std::nullopt;  // the next key, or the same one again
  return last;
}

void Forwarder::settle_success(Attempt& attempt, const std::optional<Usage>& usage,
                               CallReport& report) {
  balance::Outcome ok;
  ok.ok = true;
  ok.latency = attempt.elapsed();
  ok.usage = usage;
  attempt.settle(ok);
  count_attempt(attempt.lease.target(), nullptr);
  report.usage = usage;
}

awaitable<Status> Forwarder::stream(const ChatRequest& request, StreamSink& sink,
                                    net::ClientWatch& client, CallReport& report) {
  CallState state;
  bool begun = false;
  const Call call = Call::of(request);
  for (;;) {
    auto opened = co_await open(call, client, report, state);
    if (!opened) co_return std::move(opened).error();
    if (co_await relay(request, **opened, sink, client, report, state, begun)) {
      co_return Status{};
    }
    // Failed before anything reached the client: another key, or the error as the answer.
    if (!state.plan->last_error()->retryable) co_return *state.plan->last_error();
  }
}

namespace {
// Keeps a failed step's error for after the relay loop; true when the step succeeded. (A
// plain call, so the Status is a temporary, not another error-sized slot in the frame.)
bool keep_error(Status step, std::optional<Error>& failed) {
  if (step) return true;
  failed = std::move(step).error();
  return false;
}
}  // namespace

awaitable<bool> Forwarder::relay(const ChatRequest& request, Attempt& attempt, StreamSink& sink,
                                 net::ClientWatch& client, CallReport& report, CallState& state,
                                 bool& begun) {
  const auto& rt = gateway_->model(attempt.model);
  auto decoder = rt.provider->stream_decoder_for(request);

  std::vector<providers::RelayDelta> held;  // role-only chunks not yet sent (see role_only)
  std::optional<Usage> usage;
  std::optional<Error> failed;
  bool client_left = false;
  const auto& paced = gateway_->config().stream;
  if (!state.hold_until) state.hold_until = Clock::now() + std::chrono::milliseconds(paced.hold_ms);
  StreamPacer pacer(executor_, sink, held, begun, *state.hold_until,
                    std::chrono::milliseconds(paced.heartbeat_ms));

  // Passes what the decoder produced to the sink; with `send`, writes it now (one write for
  // everything one upstream read brought). False when the client is gone.
  auto flush = [&](std::vector<providers::RelayDelta>& deltas, bool send) -> awaitable<bool> {
    if (deltas.size() > 1) sink.reserve_for(deltas);
    for (auto& d : deltas) {
      if (d.usage) usage = d.usage;
      if (!begun) {
        if (role_only(d)) {
          d.keep();  // its bytes are the read buffer's, reused by the next read
          held.push_back(std::move(d));
          continue;
        }
        if (!begin_with_held(sink, held, begun)) co_return false;
      }
      sink.add(d);
    }
    // Nothing to write (a read that brought only SSE comments, say): the silence goes on.
    const bool any = begun && !deltas.empty();
    deltas.clear();
    if (!send || !any) co_return true;
    const Status sent = co_await sink.flush();
    pacer.sent(Clock::now());
    co_return static_cast<bool>(sent);
  };

  for (;;) {
    const auto read_start = Clock::now();
    pacer.waiting();
    auto piece = co_await attempt.call->read_some();
    if (pacer.upstream_answered()) co_await pacer.pacer_done();
    const auto read_end = Clock::now();
    report.upstream_time += read_end - read_start;
    if (pacer.client_lost()) {
      client_left = true;
      break;
    }
    if (state.plan->expired(read_end) && !client.client_gone()) {
      // The request's time is up, whatever the upstream is doing: not the key's fault.
      failed = state.plan->deadline_error();
      break;
    }
    if (!piece) {
      failed = std::move(piece).error();
      break;
    }
    DeltaScratch scratch;  // what this read decodes to, sent before the next read
    auto& deltas = scratch.get();
    if (piece->empty()) {
      // What is left leaves with the end of the stream (or its error), in one write.
      keep_error(decoder->finish_relay(deltas), failed);
      if (!co_await flush(deltas, false)) client_left = true;
      break;
    }
    const bool fed = keep_error(decoder->feed_relay(*piece, deltas), failed);
    // After [DONE] only the end of the upstream's body is left. When this read brought it
    // too, the last events leave with the end of the stream in one write; otherwise they
    // are sent now, so an upstream that keeps its response open after [DONE] delays
    // nothing the client is owed.
    const bool hold = fed && decoder->done() && attempt.call->body_complete();
    if (!co_await flush(deltas, !hold)) {
      client_left = true;
      break;
    }
    if (!fed) break;
    // Nothing the upstream sends after [DONE] counts, and its connection is back in the pool:
    // the stream ends here, without another read only to learn that the body ended.
    if (hold) break;
  }

  if (client_left || client.client_gone()) {
    attempt.call->cancel();
    abandon(attempt);
    co_return true;
  }
  if (failed) {
    settle_failure(attempt, std::move(*failed), state);
    if (!begun) co_return false;
    co_await sink.fail(*state.plan->last_error());
    co_return true;
  }
  // An answer with no content at all: still a complete, valid stream.
  if (!begun && !begin_with_held(sink, held, begun)) co_return true;
  settle_success(attempt, usage, report);
  co_await sink.end();
  co_return true;
}

}  // namespace bc::gateway
