#include "providers/provider.h"

#include "providers/upstream_error.h"

namespace bc::providers {

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
