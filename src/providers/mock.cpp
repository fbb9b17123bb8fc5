// The built-in mock provider: OpenAI's format to mock://<model>, its options in headers, and
// the reading and checking of its `mock:` fields.
#include "providers/mock.h"

#include <charconv>

#include <boost/json.hpp>

#include "providers/embeddings.h"
#include "providers/openai.h"
#include "providers/upstream_error.h"

namespace bc::providers {

namespace {

// In-process only: a mock:// request never leaves the binary, so these never reach a wire.
constexpr std::string_view kLatencyHeader = "x-bc-mock-latency-ms";
constexpr std::string_view kPaceHeader = "x-bc-mock-tokens-per-second";
constexpr std::string_view kReplyHeader = "x-bc-mock-reply";

Error classify_mock(int status, const Headers& headers, std::string_view body) {
  return classify_http("mock", status, headers, body);
}

std::string number_text(double v) {
  char buf[64];
  const auto [end, ec] = std::to_chars(buf, buf + sizeof buf, v);  // shortest, round-trips
  return ec == std::errc{} ? std::string(buf, end) : std::string("0");
}

template <typename T>
void read_number(const UpstreamRequest& request, std::string_view name, T& out) {
  const auto text = find_header(request.headers, name);
  if (!text) return;
  T v{};
  const auto [end, ec] = std::from_chars(text->data(), text->data() + text->size(), v);
  if (ec == std::errc{} && end == text->data() + text->size()) out = v;
}

class MockProvider final : public OpenAiProvider {
 public:
  explicit MockProvider(ProviderOptions options)
      : OpenAiProvider(std::move(options), Dialect{"mock", &classify_mock}),
        mock_(options_as<MockOptions>(options_.own_options)) {}

  Result<UpstreamRequest> encode(const ChatRequest& request,
                                 const Credential& credential) const override {
    UpstreamRequest r =
        openai_request("mock://" + options_.model_name, openai_body_text(request, options_),
                       credential, request.stream);
    r.headers.push_back({std::string(kLatencyHeader), std::to_string(mock_.latency_ms)});
    r.headers.push_back({std::string(kPaceHeader), number_text(mock_.tokens_per_second)});
    if (!mock_.reply.empty()) r.headers.push_back({std::string(kReplyHeader), mock_.reply});
    return r;
  }

  // The in-process mock upstream answers an OpenAI embeddings body (mock_embeddings_json).
  Result<UpstreamRequest> encode_embeddings(const EmbeddingRequest& request,
                                            const Credential& credential) const override {
    return openai_request("mock://" + options_.model_name,
                          openai_embeddings_body(request, options_.model_name), credential, false);
  }

 private:
  MockOptions mock_;
};

constexpr std::string_view kMockFields[] = {"mock"};
constexpr std::string_view kMockKeys[] = {"latency_ms", "tokens_per_second", "reply"};

std::any read_mock_options(OptionReader& model) {
  MockOptions o;
  if (auto r = model.mapping("mock", kMockKeys)) {
    r->get("latency_ms", o.latency_ms, 0);
    r->get("tokens_per_second", o.tokens_per_second, 0, true);
    r->get("reply", o.reply, false);
  }
  return o;
}

void describe_mock_options(const std::any& options, boost::json::object& model) {
  const MockOptions o = options_as<MockOptions>(options);
  model["mock"] = {
      {"latency_ms", o.latency_ms}, {"tokens_per_second", o.tokens_per_second}, {"reply", o.reply}};
}

std::string mock_hint(std::string_view key) {
  for (const auto k : kMockKeys) {
    if (k == key) return "it belongs under 'mock'";
  }
  return {};
}

}  // namespace

const OptionsSpec kMockOptions{kMockFields, &read_mock_options, &describe_mock_options, &mock_hint};

std::unique_ptr<Provider> make_mock(ProviderOptions options) {
  return std::make_unique<MockProvider>(std::move(options));
}

MockOptions mock_options_of(const UpstreamRequest& request) {
  MockOptions o;
  read_number(request, kLatencyHeader, o.latency_ms);
  read_number(request, kPaceHeader, o.tokens_per_second);
  if (const auto reply = find_header(request.headers, kReplyHeader)) o.reply = std::string(*reply);
  return o;
}

}  // namespace bc::providers
