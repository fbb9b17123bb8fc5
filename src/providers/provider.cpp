#include "providers/provider.h"

#include "providers/upstream_error.h"

namespace bc::providers {

namespace {
// Appends `plain` to `out` as deltas with nothing lent.
void append_plain(std::vector<ChatDelta>& plain, std::vector<RelayDelta>& out) {
  for (ChatDelta& d : plain) static_cast<ChatDelta&>(out.emplace_back()) = std::move(d);
  plain.clear();
}

// The plain deltas of one call, per thread: feed() and finish() never suspend, so no other
// stream uses it meanwhile, and an open stream holds none.
std::vector<ChatDelta>& plain_scratch() {
  thread_local std::vector<ChatDelta> deltas;
  deltas.clear();
  return deltas;
}
}  // namespace

Status StreamDecoder::feed_relay(std::string_view bytes, std::vector<RelayDelta>& out) {
  auto& plain = plain_scratch();
  const Status fed = feed(bytes, plain);
  append_plain(plain, out);
  return fed;
}

Status StreamDecoder::finish_relay(std::vector<RelayDelta>& out) {
  auto& plain = plain_scratch();
  const Status finished = finish(plain);
  append_plain(plain, out);
  return finished;
}

Error Provider::classify(int status, const Headers& headers, std::string_view body) const {
  return classify_http({}, status, headers, body);
}

Result<UpstreamRequest> Provider::encode_embeddings(const EmbeddingRequest&,
                                                    const Credential&) const {
  return Error::invalid_request("this model's provider cannot embed", "embeddings_not_supported");
}

Result<EmbeddingResponse> Provider::decode_embeddings(const UpstreamResponse&) const {
  return Error::internal("this provider cannot embed", "embeddings_not_supported");
}

std::optional<UpstreamRequest> Provider::credential_request(const Credential&) const {
  return std::nullopt;
}

Result<DerivedCredential> Provider::decode_credential(const UpstreamResponse&) const {
  return Error::internal("this provider has no credential exchange", "no_credential_exchange");
}

}  // namespace bc::providers
