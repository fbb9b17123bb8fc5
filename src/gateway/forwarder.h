// The forwarder runs one call (a chat, or an embeddings request): select a target, take a lease,
// let the provider encode, send through the upstream, relay the answer, settle the lease, and retry
// on another key or model when an attempt fails before anything reached the client. One Forwarder
// per worker thread (it owns that thread's upstream connection pool); calls run as coroutines on
// it.
#pragma once

#include <memory>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>

#include "core/chat.h"
#include "core/clock.h"
#include "core/embedding.h"
#include "core/result.h"
#include "gateway/gateway.h"
#include "gateway/stream_pacer.h"
#include "gateway/stream_sink.h"
#include "net/http_server.h"
#include "net/upstream.h"

namespace bc::telemetry {
class Metrics;
}

namespace bc::gateway {

class SharedAdmission;

// What the access log and metrics want to know about one call, and who made it.
struct CallReport {
  Caller caller;  // set by the handler before the call: its share of the admission queue
  std::string model;
  std::string key_id;
  int attempts = 0;
  std::optional<Usage> usage;
  Usage estimate;  // what admission reserved; the usage ledger's tokens when `usage` is absent
  std::optional<balance::Target> target;  // the last target tried
  Duration upstream_time{};  // awaiting upstreams (connect, first byte, body, stream reads)
  Duration queue_time{};     // waiting in the admission queue
};

class Forwarder {
 public:
  // `http` may outlive this forwarder: a reload hands the worker's client (and its pooled
  // connections) to the next generation's forwarder.
  Forwarder(std::shared_ptr<Gateway> gateway, boost::asio::any_io_executor executor,
            std::shared_ptr<net::Upstream> http);

  // A non-streamed call: the whole answer, or the error to send.
  awaitable<Result<ChatResponse>> complete(const ChatRequest& request, net::ClientWatch& client,
                                           CallReport& report);
  // A streamed call relayed into `sink`. An error returned means nothing was sent yet and the
  // caller answers with it; once the sink has begun, failures end the stream through
  // sink.fail() and the call returns ok.
  awaitable<Status> stream(const ChatRequest& request, StreamSink& sink, net::ClientWatch& client,
                           CallReport& report);

  // An embeddings call (the model named must be an embedding model: the route checks): the
  // vectors, or the error to send. report.usage is the upstream's count, when it gave one.
  awaitable<Result<EmbeddingResponse>> embed(const EmbeddingRequest& request,
                                             net::ClientWatch& client, CallReport& report);
  // One embeddings call on exactly this key, never retried elsewhere (balancedcall probe).
  awaitable<Result<EmbeddingResponse>> embed_on(balance::Target target,
                                                const EmbeddingRequest& request,
                                                net::ClientWatch& client, CallReport& report);

  // One non-streamed call on exactly this key, never retried elsewhere (balancedcall probe).
  awaitable<Result<ChatResponse>> complete_on(balance::Target target, const ChatRequest& request,
                                              net::ClientWatch& client, CallReport& report);

  const Gateway& gateway() const { return *gateway_; }
  // Where attempts, retries and failovers are counted; none by default. Set before any call.
  void set_metrics(telemetry::Metrics* metrics) { metrics_ = metrics; }
  // With state.backend redis: this worker's admission against the limits shared by every
  // instance, asked after each local admission; none (local state) by default. Set before any
  // call; it outlives the forwarder.
  void set_shared_admission(SharedAdmission* shared) { shared_ = shared; }
  SharedAdmission* shared_admission() const { return shared_; }

 private:
  struct Attempt;
  struct CallState;
  struct Call;
  awaitable<Result<ChatResponse>> complete(const ChatRequest& request, net::ClientWatch& client,
                                           CallReport& report, CallState& state);
  awaitable<Result<EmbeddingResponse>> embed(const EmbeddingRequest& request,
                                             net::ClientWatch& client, CallReport& report,
                                             CallState& state);
  awaitable<Result<std::unique_ptr<Attempt>>> open(const Call& call, net::ClientWatch& client,
                                                   CallReport& report, CallState& state);
  // The loop of complete() and embed(): open an attempt, read its answer whole, `settle` it
  // (attempt, body) into the result or nullopt to try the next key. In forwarder_attempt.h.
  template <typename T, typename Settle>
  awaitable<Result<T>> whole_answers(const Call& call, net::ClientWatch& client, CallReport& report,
                                     CallState& state, const Settle& settle);
  net::Upstream& upstream_for(std::string_view url);
  // Settles a failed attempt and records its error in `state`, turning an expired derived
  // credential into one retry of the same key.
  void settle_failure(Attempt& attempt, Error error, CallState& state);
  // Parts of open(), kept out of its coroutine frame. needs_token: false when the key needs
  // no derived token or its cached one was set into `credential`. mint_token: exchanges the
  // key for a token (false: the error is the plan's last_error()). settle_start_failure: true
  // when the request's deadline had passed. settle_refusal: a non-2xx answer read and
  // classified.
  bool needs_token(const ModelRuntime& rt, balance::Target target,
                   providers::Credential& credential);
  awaitable<bool> mint_token(const ModelRuntime& rt, balance::Target target,
                             providers::Credential& credential, net::ClientWatch& client,
                             CallState& state);
  // encode_into: the upstream request and its call set into `attempt`; false when the
  // request cannot be expressed for the provider (the error is in state.last_error).
  bool encode_into(Attempt& attempt, const ModelRuntime& rt, const Call& call, CallState& state);
  bool settle_start_failure(Attempt& attempt, Error error, CallState& state);
  awaitable<void> settle_refusal(Attempt& attempt, const ModelRuntime& rt, CallState& state,
                                 CallReport& report, net::ClientWatch& client);
  // Asks the shared limits about the local slot just taken; false when they refuse it (the
  // target is then skipped until the next wait, which ends by state.poll_at at the latest).
  awaitable<bool> admit_shared(const balance::Lease& lease, CallState& state);
  // Waits until `at` (a same-key retry's backoff), or until the client leaves.
  awaitable<void> pause_until(TimePoint at, net::ClientWatch& client);
  // Frees the attempt's slot at once, teaching the key nothing: its client left.
  void abandon(Attempt& attempt);
  // stream()'s relay of one attempt: true when the stream is over for the client (answered,
  // failed mid-stream, or gone), false when it failed before anything was sent (the error
  // is in state.last_error).
  awaitable<bool> relay(const ChatRequest& request, Attempt& attempt, StreamSink& sink,
                        net::ClientWatch& client, CallReport& report, CallState& state,
                        bool& begun);
  // complete()'s end of an attempt: the answer decoded and the attempt settled. The answer
  // or the error for the client, or nullopt when the next key should be tried.
  std::optional<Result<ChatResponse>> settle_answer(const ChatRequest& request, Attempt& attempt,
                                                    Result<std::string> body,
                                                    net::ClientWatch& client, CallState& state,
                                                    CallReport& report);
  // embed()'s end of an attempt, as settle_answer(); `inputs`: the vectors it must hold.
  std::optional<Result<EmbeddingResponse>> settle_embeddings(Attempt& attempt,
                                                             Result<std::string> body,
                                                             std::size_t inputs,
                                                             net::ClientWatch& client,
                                                             CallState& state, CallReport& report);
  // The two halves of settling a decoded answer. settle_decode_failure: the error for the
  // client, or nullopt when the next key should be tried; settle_success: the attempt ended
  // well and used `usage`.
  std::optional<Error> settle_decode_failure(Attempt& attempt, Error error,
                                             net::ClientWatch& client, CallState& state);
  void settle_success(Attempt& attempt, const std::optional<Usage>& usage, CallReport& report);
  awaitable<Result<providers::DerivedCredential>> exchange_credential(
      const ModelRuntime& rt, const UpstreamRequest& exchange, net::ClientWatch& client,
      const CallState& state);
  // Counts a finished upstream attempt: ok when `error` is null.
  void count_attempt(balance::Target target, const Error* error, bool cancelled = false);
  bool capacity_may_return(const balance::Demand& demand, TimePoint now) const;
  Error no_usable_key_error(std::string_view model, const balance::Demand& demand) const;
  Error busy_error(std::string_view model, const balance::Demand& demand, bool queue_full,
                   std::chrono::milliseconds waited) const;
  static Error caller_queue_full(const Caller& caller);

  std::shared_ptr<Gateway> gateway_;
  boost::asio::any_io_executor executor_;
  std::shared_ptr<net::Upstream> http_;
  std::unique_ptr<net::Upstream> mock_;
  Rng rng_;
  telemetry::Metrics* metrics_ = nullptr;
  SharedAdmission* shared_ = nullptr;
};

}  // namespace bc::gateway
