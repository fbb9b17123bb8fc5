#include "providers/provider.h"

#include "providers/upstream_error.h"

namespace bc::providers {

Error Provider::classify(int status, const Headers& headers, std::string_view body) const {
  return classify_http({}, status, headers, body);
}

std::optional<UpstreamRequest> Provider::credential_request(const Credential&) const {
  return std::nullopt;
}

Result<DerivedCredential> Provider::decode_credential(const UpstreamResponse&) const {
  return Error::internal("this provider has no credential exchange", "no_credential_exchange");
}

}  // namespace bc::providers
