#include "providers/baidu.h"

#include <gtest/gtest.h>
#include <boost/json.hpp>

#include "providers/stream_testing.h"
#include "providers/upstream_error.h"

namespace bc::providers {
namespace {

namespace json = boost::json;
using std::chrono::hours;
using std::chrono::seconds;
using testing::Decoded;

ChatRequest request(std::string_view body) {
  auto r = ChatRequest::parse(body);
  EXPECT_TRUE(r.ok()) << r.error().message;
  return std::move(r).value();
}

ProviderOptions v2_options() {
  ProviderOptions o;
  o.model_name = "ernie";
  o.upstream_model = "ernie-4.0-turbo-8k";
  o.supports_tools = true;
  return o;
}

ProviderOptions legacy_options() {
  ProviderOptions o = v2_options();
  o.upstream_model = "completions_pro";
  o.base_url = std::string(kBaiduLegacyBaseUrl);
  return o;
}

const Credential kV2Key{"bce-v3/ALTAK-abcdefghij/0123456789abcdef0123456789abcdef", "b-1"};

TEST(BaiduV2Encode, GoldenRequest) {
  auto r =
      make_baidu(v2_options())
          ->encode(
              request(
                  R"({"model":"ernie","messages":[{"role":"system","content":"s"},{"role":"user","content":"hi"}],)"
                  R"("stream":true,"max_tokens":50})"),
              kV2Key);
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->url, "https://qianfan.baidubce.com/v2/chat/completions");
  EXPECT_EQ(find_header(r->headers, "Authorization"), "Bearer " + kV2Key.secret);
  EXPECT_TRUE(r->stream);
  EXPECT_EQ(
      json::parse(r->body),
      json::parse(R"({"model":"ernie-4.0-turbo-8k","messages":[{"role":"system","content":"s"},)"
                  R"({"role":"user","content":"hi"}],"stream":true,)"
                  R"("stream_options":{"include_usage":true},"max_tokens":50})"));
  // v2 keys need no exchange.
  EXPECT_FALSE(make_baidu(v2_options())->credential_request(kV2Key));
}

constexpr std::string_view kV2Completion =
    R"({"id":"as-t2z8xi6mm8","object":"chat.completion","created":1709089502,"model":"ernie-4.0-turbo-8k",)"
    R"("choices":[{"index":0,"message":{"role":"assistant","content":"你好"},"finish_reason":"stop"}],)"
    R"("usage":{"prompt_tokens":3,"completion_tokens":2,"total_tokens":5}})";

TEST(BaiduV2Decode, OpenAiShapePassesThroughCompletedToOpenAisSchema) {
  auto r = make_baidu(v2_options())->decode(UpstreamResponse{200, {}, std::string(kV2Completion)});
  ASSERT_TRUE(r.ok()) << r.error().message;
  // Qianfan leaves out logprobs and refusal, which OpenAI's schema requires (null allowed).
  json::value want = json::parse(kV2Completion);
  want.at("choices").at(0).as_object()["logprobs"] = nullptr;
  want.at("choices").at(0).at("message").as_object()["refusal"] = nullptr;
  EXPECT_EQ(json::value(r->completion_object()), want);
  EXPECT_EQ(r->usage.total_tokens, 5);
}

TEST(BaiduV2Decode, FlatErrorWithHttp200) {
  auto r = make_baidu(v2_options())
               ->decode(UpstreamResponse{
                   200, {}, R"({"error_code":336501,"error_msg":"Rate limit reached for RPM"})"});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().kind, ErrorKind::kRateLimited);
  EXPECT_EQ(r.error().key_action, KeyAction::kCooldown);
  EXPECT_EQ(r.error().source, "upstream:baidu");
  // The `code`/`msg` spelling of the same error.
  auto c = make_baidu(v2_options())
               ->decode(UpstreamResponse{
                   200, {}, R"({"code":336502,"msg":"Rate limit reached for TPM"})"});
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.error().key_action, KeyAction::kCooldown);
  // An OpenAI-shaped error object in a 200 body.
  auto o =
      make_baidu(v2_options())
          ->decode(UpstreamResponse{
              200,
              {},
              R"({"error":{"code":"invalid_iam_token","message":"bad key","type":"access_denied"}})"});
  ASSERT_FALSE(o.ok());
  EXPECT_EQ(o.error().key_action, KeyAction::kDisable);
}

struct V2Case {
  int status;
  std::string_view body;
  ErrorKind kind;
  bool retryable;
  KeyAction action;
  std::string_view client_code;
};

TEST(BaiduV2Classify, EveryClassOfTheErrorTable) {
  const V2Case cases[] = {
      {400, R"({"error":{"code":"malformed_json","message":"m","type":"invalid_request_error"}})",
       ErrorKind::kInvalidRequest, false, KeyAction::kNone, "invalid_request"},
      {400, R"({"error":{"code":"tokens_too_long","message":"m","type":"invalid_request_error"}})",
       ErrorKind::kInvalidRequest, false, KeyAction::kNone, "context_length_exceeded"},
      {400, R"({"error":{"code":"image_url_unsafe","message":"m","type":"unsafe_request"}})",
       ErrorKind::kInvalidRequest, false, KeyAction::kNone, "content_filter"},
      {403, R"({"error":{"code":"system_unsafe","message":"m"}})", ErrorKind::kInvalidRequest,
       false, KeyAction::kNone, "content_filter"},
      {401, R"({"error":{"code":"invalid_iam_token","message":"m","type":"access_denied"}})",
       ErrorKind::kAuthentication, true, KeyAction::kDisable, "invalid_api_key"},
      {401, R"({"error":{"code":"invalid_model","message":"m","type":"access_denied"}})",
       ErrorKind::kPermission, true, KeyAction::kDisable, "permission_denied"},
      {400, R"({"error":{"code":"invalid_model","message":"m","type":"invalid_request_error"}})",
       ErrorKind::kInvalidRequest, false, KeyAction::kNone, "invalid_request"},
      {429,
       R"({"error":{"code":"rpm_rate_limit_exceeded","message":"m","type":"rate_limit_exceeded"}})",
       ErrorKind::kRateLimited, true, KeyAction::kCooldown, "rate_limit_exceeded"},
      {429,
       R"({"error":{"code":"user_rate_limit_exceeded","message":"m","type":"rate_limit_exceeded"}})",
       ErrorKind::kRateLimited, true, KeyAction::kCooldown, "rate_limit_exceeded"},
      {429,
       R"({"error":{"code":"cluster_rate_limit_exceeded","message":"m","type":"rate_limit_exceeded"}})",
       ErrorKind::kUpstream, true, KeyAction::kNone, "upstream_overloaded"},
      {500, R"({"error":{"code":"internal_error","message":"m"}})", ErrorKind::kUpstream, true,
       KeyAction::kNone, "upstream_error"},
      {400, R"({"error":{"code":"some_new_code","message":"account in arrears"}})",
       ErrorKind::kRateLimited, true, KeyAction::kDisable, "insufficient_quota"},
      // The legacy numeric codes seen on v2: no derived token there, so a token error disables.
      {200, R"({"error_code":110,"error_msg":"Access token invalid"})", ErrorKind::kAuthentication,
       true, KeyAction::kDisable, "invalid_api_key"},
  };
  const auto p = make_baidu(v2_options());
  for (const auto& c : cases) {
    const Error e = p->classify(c.status, {}, c.body);
    EXPECT_EQ(e.kind, c.kind) << c.body;
    EXPECT_EQ(e.retryable, c.retryable) << c.body;
    EXPECT_EQ(e.key_action, c.action) << c.body;
    EXPECT_EQ(e.code, c.client_code) << c.body;
    EXPECT_EQ(e.source, "upstream:baidu") << c.body;
  }
}

TEST(BaiduV2Classify, RateLimitCooldowns) {
  const auto p = make_baidu(v2_options());
  const std::string rpm =
      R"({"error":{"code":"rpm_rate_limit_exceeded","message":"Rate limit reached for RPM","type":"rate_limit_exceeded"},"id":"as-wbx23eriqh"})";
  EXPECT_EQ(p->classify(429, {}, rpm).cooldown, kDefaultRateLimitCooldown);
  EXPECT_EQ(p->classify(429, {{"Retry-After", "600"}}, rpm).cooldown, seconds(60));
  const std::string qps = R"({"error":{"code":"user_rate_limit_exceeded","message":"m"}})";
  EXPECT_EQ(p->classify(429, {}, qps).cooldown, seconds(1));
}

const std::string kB1 =
    R"({"id":"as-1","object":"chat.completion.chunk","created":1,"model":"ernie-4.0-turbo-8k","choices":[{"index":0,"delta":{"role":"assistant","content":"Hi"},"finish_reason":null}]})";
const std::string kB2 =
    R"({"id":"as-1","object":"chat.completion.chunk","created":1,"model":"ernie-4.0-turbo-8k","choices":[{"index":0,"delta":{"content":"!"},"finish_reason":"stop"}],"usage":{"prompt_tokens":2,"completion_tokens":2,"total_tokens":4}})";

testing::DecoderFactory v2_decoder() {
  return [] { return make_baidu(v2_options())->stream_decoder(); };
}

TEST(BaiduV2Stream, OpenAiChunksAreRelayedAsSent) {
  const Decoded d = testing::expect_split_invariant(
      v2_decoder(), "data: " + kB1 + "\n\ndata: " + kB2 + "\n\ndata: [DONE]\n\n");
  ASSERT_FALSE(d.error) << d.error->message;
  EXPECT_TRUE(d.done);
  ASSERT_EQ(d.deltas.size(), 2u);
  EXPECT_EQ(d.deltas[0].chunk_json, kB1);
  EXPECT_EQ(d.deltas[1].chunk_json, kB2);
  EXPECT_EQ(d.deltas[1].finish_reason, "stop");
  ASSERT_TRUE(d.deltas[1].usage);
  EXPECT_EQ(d.deltas[1].usage->total_tokens, 4);
}

TEST(BaiduV2Stream, FlatErrorChunkInsideTheStream) {
  const Decoded d = testing::expect_split_invariant(
      v2_decoder(),
      "data: " + kB1 + "\n\ndata: {\"error_code\":336100,\"error_msg\":\"try later\"}\n\n");
  ASSERT_TRUE(d.error);
  EXPECT_EQ(d.deltas.size(), 1u);
  EXPECT_EQ(d.error->kind, ErrorKind::kUpstream);
  EXPECT_TRUE(d.error->retryable);
}

TEST(BaiduV2Stream, JsonErrorBodyInsteadOfSse) {
  const Decoded d = testing::expect_split_invariant(
      v2_decoder(),
      R"({"error":{"code":"tpm_rate_limit_exceeded","message":"Rate limit reached for TPM","type":"rate_limit_exceeded"}})");
  ASSERT_TRUE(d.error);
  EXPECT_TRUE(d.deltas.empty());
  EXPECT_EQ(d.error->key_action, KeyAction::kCooldown);
}

// ---- legacy: credential exchange ----

const Credential kPair{"AbCdEfGhIjKlMnOpQrStUvWx:s3cr3t/+=Key", "b-legacy"};

TEST(BaiduCredential, ExchangeRequestFromApiKeyAndSecretKey) {
  const auto p = make_baidu(legacy_options());
  const auto req = p->credential_request(kPair);
  ASSERT_TRUE(req);
  EXPECT_EQ(req->method, "POST");
  EXPECT_EQ(req->url,
            "https://aip.baidubce.com/oauth/2.0/token?grant_type=client_credentials"
            "&client_id=AbCdEfGhIjKlMnOpQrStUvWx&client_secret=s3cr3t%2F%2B%3DKey");
  EXPECT_TRUE(req->body.empty());
  EXPECT_FALSE(req->stream);
  // The token endpoint lives on the base_url's host (the mock upstream in tests).
  ProviderOptions o = legacy_options();
  o.base_url = "http://127.0.0.1:8123/rpc/2.0/ai_custom/v1/wenxinworkshop/chat";
  EXPECT_EQ(make_baidu(o)->credential_request(kPair)->url.substr(0, 41),
            "http://127.0.0.1:8123/oauth/2.0/token?gra");
  // A key without ':' is an access token already.
  EXPECT_FALSE(p->credential_request(Credential{"24.abc.2592000.1485516651.282335-8574074", "t"}));
}

TEST(BaiduCredential, DecodesTheTokenAndItsLifetime) {
  const auto p = make_baidu(legacy_options());
  auto r = p->decode_credential(UpstreamResponse{
      200,
      {},
      R"({"access_token":"24.6c5e1ff1.2592000.1485516651.282335-8574074","expires_in":2592000,)"
      R"("refresh_token":"25.b55f","scope":"public wise_adapt","session_key":"9mzd","session_secret":"dfac"})"});
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->token, "24.6c5e1ff1.2592000.1485516651.282335-8574074");
  EXPECT_EQ(r->expires_in, seconds(2592000));
  EXPECT_EQ(r->refresh_after, seconds(2592000) - hours(1));
  // A short lifetime is refreshed a tenth before it ends.
  auto s =
      p->decode_credential(UpstreamResponse{200, {}, R"({"access_token":"t","expires_in":600})"});
  ASSERT_TRUE(s.ok());
  EXPECT_EQ(s->refresh_after, seconds(540));
}

TEST(BaiduCredential, RejectedKeyPairDisablesTheKey) {
  const auto p = make_baidu(legacy_options());
  auto r = p->decode_credential(UpstreamResponse{
      401, {}, R"({"error":"invalid_client","error_description":"unknown client id"})"});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().kind, ErrorKind::kAuthentication);
  EXPECT_EQ(r.error().key_action, KeyAction::kDisable);
  EXPECT_TRUE(r.error().retryable);
  EXPECT_NE(r.error().message.find("unknown client id"), std::string::npos);
  // A broken token service does not punish the key.
  auto down = p->decode_credential(UpstreamResponse{502, {}, "<html>bad gateway</html>"});
  ASSERT_FALSE(down.ok());
  EXPECT_EQ(down.error().kind, ErrorKind::kUpstream);
  EXPECT_EQ(down.error().key_action, KeyAction::kNone);
  EXPECT_TRUE(down.error().retryable);
}

TEST(BaiduCredential, EncodeUsesTheDerivedToken) {
  const auto p = make_baidu(legacy_options());
  const auto body = request(R"({"messages":[{"role":"user","content":"hi"}]})");
  Credential c = kPair;
  auto missing = p->encode(body, c);
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.error().kind, ErrorKind::kInternal);
  c.derived_token = "24.6c5e1ff1.2592000.1485516651.282335-8574074";
  auto r = p->encode(body, c);
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->url,
            "https://aip.baidubce.com/rpc/2.0/ai_custom/v1/wenxinworkshop/chat/completions_pro"
            "?access_token=24.6c5e1ff1.2592000.1485516651.282335-8574074");
  EXPECT_FALSE(find_header(r->headers, "Authorization"));
  // A pre-minted token configured as the key.
  auto direct = p->encode(body, Credential{"24.pre.minted", "t"});
  ASSERT_TRUE(direct.ok());
  EXPECT_TRUE(direct->url.ends_with("?access_token=24.pre.minted"));
}

TEST(BaiduCredential, NoExchangeOnV2) {
  EXPECT_FALSE(make_baidu(v2_options())->credential_request(kPair));
}

}  // namespace
}  // namespace bc::providers
