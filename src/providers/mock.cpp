#include "providers/mock.h"

#include <boost/json.hpp>

#include "providers/embeddings.h"
#include "providers/openai.h"
#include "providers/upstream_error.h"

namespace bc::providers {

namespace {

Error classify_mock(int status, const Headers& headers, std::string_view body) {
  return classify_http("mock", status, headers, body);
}

class MockProvider final : public OpenAiProvider {
 public:
  explicit MockProvider(ProviderOptions options)
      : OpenAiProvider(std::move(options), Dialect{"mock", &classify_mock}) {}

  Result<UpstreamRequest> encode(const ChatRequest& request,
                                 const Credential& credential) const override {
    return openai_request("mock://" + options_.model_name, openai_body_text(request, options_),
                          credential, request.stream);
  }

  // The in-process mock upstream answers an OpenAI embeddings body (mock_embeddings_json).
  Result<UpstreamRequest> encode_embeddings(const EmbeddingRequest& request,
                                            const Credential& credential) const override {
    return openai_request("mock://" + options_.model_name,
                          openai_embeddings_body(request, options_.model_name), credential, false);
  }
};

}  // namespace

std::unique_ptr<Provider> make_mock(ProviderOptions options) {
  return std::make_unique<MockProvider>(std::move(options));
}

}  // namespace bc::providers
