// The Forwarder's embeddings call: the same attempts as a chat (open() picks, admits, leases,
// encodes through the provider's encode_embeddings, sends and retries), then the answer read
// whole and decoded by the provider's decode_embeddings.
#include "gateway/forwarder.h"
#include "gateway/forwarder_attempt.h"

namespace bc::gateway {

awaitable<Result<EmbeddingResponse>> Forwarder::embed(const EmbeddingRequest& request,
                                                      net::ClientWatch& client,
                                                      CallReport& report) {
  CallState state;
  co_return co_await embed(request, client, report, state);
}

awaitable<Result<EmbeddingResponse>> Forwarder::embed_on(balance::Target target,
                                                         const EmbeddingRequest& request,
                                                         net::ClientWatch& client,
                                                         CallReport& report) {
  CallState state;
  state.pinned = target;
  co_return co_await embed(request, client, report, state);
}

awaitable<Result<EmbeddingResponse>> Forwarder::embed(const EmbeddingRequest& request,
                                                      net::ClientWatch& client, CallReport& report,
                                                      CallState& state) {
  const Call call = Call::of(request);
  auto settle = [&](Attempt& attempt, Result<std::string> body) {
    return settle_embeddings(attempt, std::move(body), request.inputs.size(), client, state,
                             report);
  };
  co_return co_await whole_answers<EmbeddingResponse>(call, client, report, state, settle);
}

std::optional<Result<EmbeddingResponse>> Forwarder::settle_embeddings(
    Attempt& attempt, Result<std::string> body, std::size_t inputs, net::ClientWatch& client,
    CallState& state, CallReport& report) {
  const auto& rt = gateway_->model(attempt.model);
  Result<EmbeddingResponse> decoded = Error::internal("unreachable");
  if (body) {
    UpstreamResponse response{attempt.call->status(), attempt.call->take_headers(),
                              std::move(body).value()};
    decoded = rt.provider->decode_embeddings(response);
  } else {
    decoded = std::move(body).error();
  }
  if (decoded && decoded->vectors.size() != inputs) {
    // An upstream that lost or added vectors: its answer cannot be matched to the inputs.
    Error e = Error::upstream("upstream answered " + std::to_string(decoded->vectors.size()) +
                                  " embeddings for " + std::to_string(inputs) + " inputs",
                              "bad_embeddings");
    e.source = "upstream:" + rt.config->provider;
    decoded = std::move(e);
  }
  if (!decoded) {
    auto failed = settle_decode_failure(attempt, std::move(decoded).error(), client, state);
    if (!failed) return std::nullopt;
    return std::move(*failed);
  }
  settle_success(attempt, decoded->usage, report);
  return decoded;
}

}  // namespace bc::gateway
