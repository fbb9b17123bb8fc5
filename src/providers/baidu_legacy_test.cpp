// The legacy wenxinworkshop API of the baidu adapter.
#include <gtest/gtest.h>
#include <boost/json.hpp>

#include "providers/baidu.h"
#include "providers/stream_testing.h"
#include "providers/upstream_error.h"

namespace bc::providers {
namespace {

namespace json = boost::json;
using std::chrono::seconds;
using testing::Decoded;

ChatRequest request(std::string_view body) {
  auto r = ChatRequest::parse(body);
  EXPECT_TRUE(r.ok()) << r.error().message;
  return std::move(r).value();
}

ProviderOptions options(bool tools = true) {
  ProviderOptions o;
  o.model_name = "ernie";
  o.upstream_model = "ernie-3.5-8k";
  o.base_url = std::string(kBaiduLegacyBaseUrl);
  o.supports_tools = tools;
  return o;
}

Credential key() {
  Credential c{"apikey:secretkey", "b-legacy"};
  c.derived_token = "24.tok";
  return c;
}

json::value encode(std::string_view body, ProviderOptions o = options()) {
  auto r = make_baidu(o)->encode(request(body), key());
  EXPECT_TRUE(r.ok()) << r.error().message;
  return r.ok() ? json::parse(r->body) : json::value();
}

TEST(BaiduLegacyEncode, GoldenRequest) {
  auto r = make_baidu(options())->encode(
      request(
          R"({"model":"ernie","stream":true,"messages":[)"
          R"({"role":"system","content":"Be brief."},{"role":"assistant","content":"Hello"},)"
          R"({"role":"user","content":"hi"},{"role":"user","content":[{"type":"text","text":"there"}]},)"
          R"({"role":"assistant","content":"yes?"},{"role":"user","content":"weather?"}],)"
          R"("temperature":0,"top_p":0.5,"frequency_penalty":0.4,"max_completion_tokens":256,)"
          R"("stop":"END","user":"u-1","seed":3,"response_format":{"type":"json_object"},)"
          R"("tools":[{"type":"function","function":{"name":"weather","description":"d","parameters":{"type":"object"}}}]})"),
      key());
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->url,
            "https://aip.baidubce.com/rpc/2.0/ai_custom/v1/wenxinworkshop/chat/ernie-3.5-8k"
            "?access_token=24.tok");
  EXPECT_TRUE(r->stream);
  EXPECT_EQ(
      json::parse(r->body),
      json::parse(
          R"({"messages":[{"role":"user","content":"hi\nthere"},)"
          R"({"role":"assistant","content":"yes?"},{"role":"user","content":"weather?"}],)"
          R"("system":"Be brief.","stream":true,"temperature":0.01,"top_p":0.5,)"
          R"("penalty_score":1.4,"max_output_tokens":256,"stop":["END"],"user_id":"u-1",)"
          R"("functions":[{"name":"weather","description":"d","parameters":{"type":"object"}}]})"));
}

TEST(BaiduLegacyEncode, ToolTurnsBecomeFunctionTurns) {
  const auto body = encode(
      R"({"messages":[{"role":"user","content":"weather?"},)"
      R"({"role":"assistant","content":null,"tool_calls":[{"id":"call_1","type":"function","function":{"name":"weather","arguments":"{\"city\":\"Rome\"}"}}]},)"
      R"({"role":"tool","tool_call_id":"call_1","content":"sunny"}],)"
      R"("tools":[{"type":"function","function":{"name":"weather"}}]})");
  EXPECT_EQ(
      body.at("messages"),
      json::parse(
          R"([{"role":"user","content":"weather?"},)"
          R"({"role":"assistant","content":"","function_call":{"name":"weather","arguments":"{\"city\":\"Rome\"}"}},)"
          R"({"role":"function","name":"weather","content":"sunny"}])"));
  // Without tool support they are plain turns and no functions are sent.
  const auto plain = encode(
      R"({"messages":[{"role":"user","content":"a"},{"role":"assistant","content":"b"},)"
      R"({"role":"tool","tool_call_id":"x","content":"c"}],"tools":[{"type":"function","function":{"name":"w"}}]})",
      options(false));
  EXPECT_EQ(plain.at("messages"),
            json::parse(R"([{"role":"user","content":"a"},{"role":"assistant","content":"b"},)"
                        R"({"role":"user","content":"c"}])"));
  EXPECT_FALSE(plain.as_object().contains("functions"));
}

TEST(BaiduLegacyEncode, DefaultTemperatureIsClampedAndTrailingAssistantDropped) {
  ProviderOptions o = options();
  o.default_temperature = 1.5;
  const auto body = encode(
      R"({"messages":[{"role":"user","content":"a"},{"role":"assistant","content":"prefill"}]})",
      o);
  EXPECT_EQ(body.at("temperature"), json::value(1.0));
  EXPECT_EQ(body.at("messages"), json::parse(R"([{"role":"user","content":"a"}])"));
}

TEST(BaiduLegacyEncode, RejectsRequestsItCannotExpress) {
  const auto p = make_baidu(options());
  auto none = p->encode(request(R"({"messages":[{"role":"system","content":"s"}]})"), key());
  ASSERT_FALSE(none.ok());
  EXPECT_EQ(none.error().kind, ErrorKind::kInvalidRequest);
  auto n = p->encode(request(R"({"messages":[{"role":"user","content":"a"}],"n":2})"), key());
  ASSERT_FALSE(n.ok());
  EXPECT_EQ(n.error().kind, ErrorKind::kInvalidRequest);
}

TEST(BaiduLegacyDecode, AnswerBecomesAChatCompletion) {
  auto r = make_baidu(options())->decode(UpstreamResponse{
      200,
      {},
      R"({"id":"as-7ab1c2d3ef","object":"chat.completion","created":1709089502,)"
      R"("result":"你好！有什么可以帮你？","is_truncated":false,"need_clear_history":false,)"
      R"("finish_reason":"normal","usage":{"prompt_tokens":3,"completion_tokens":9,"total_tokens":12}})"});
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(
      json::value(r->completion),
      json::parse(
          R"({"id":"as-7ab1c2d3ef","object":"chat.completion","created":1709089502,)"
          R"("model":"ernie-3.5-8k","choices":[{"index":0,"message":{"role":"assistant",)"
          R"("content":"你好！有什么可以帮你？","refusal":null},"logprobs":null,"finish_reason":"stop"}],)"
          R"("usage":{"prompt_tokens":3,"completion_tokens":9,"total_tokens":12}})"));
  EXPECT_EQ(r->usage.total_tokens, 12);
  EXPECT_EQ(r->text(), "你好！有什么可以帮你？");
}

TEST(BaiduLegacyDecode, FunctionCallBecomesAToolCall) {
  auto r = make_baidu(options())->decode(UpstreamResponse{
      200,
      {},
      R"({"id":"as-9","object":"chat.completion","created":1,"result":"","finish_reason":"function_call",)"
      R"("function_call":{"name":"weather","arguments":"{\"city\":\"Rome\"}","thoughts":"t"},)"
      R"("usage":{"prompt_tokens":5,"total_tokens":9}})"});
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->completion.at("choices").at(0),
            json::parse(R"({"index":0,"message":{"role":"assistant","content":null,"tool_calls":[)"
                        R"({"id":"call_as-9","type":"function","function":{"name":"weather",)"
                        R"("arguments":"{\"city\":\"Rome\"}"}}],"refusal":null},"logprobs":null,)"
                        R"("finish_reason":"tool_calls"})"));
  // completion_tokens absent: total − prompt.
  EXPECT_EQ(r->usage.completion_tokens, 4);
}

TEST(BaiduLegacyDecode, FinishReasons) {
  auto finish = [](std::string extra) {
    auto r = make_baidu(options())->decode(
        UpstreamResponse{200, {}, R"({"id":"a","created":1,"result":"x",)" + extra + "}"});
    EXPECT_TRUE(r.ok());
    return r.ok() ? std::string(r->completion.at("choices").at(0).at("finish_reason").as_string())
                  : std::string();
  };
  EXPECT_EQ(finish(R"("finish_reason":"length")"), "length");
  EXPECT_EQ(finish(R"("finish_reason":"content_filter")"), "content_filter");
  EXPECT_EQ(finish(R"("finish_reason":"normal","need_clear_history":true,"ban_round":1)"),
            "content_filter");
  EXPECT_EQ(finish(R"("finish_reason":"stop")"), "stop");
}

TEST(BaiduLegacyDecode, ErrorsArriveWithHttp200) {
  auto r = make_baidu(options())->decode(
      UpstreamResponse{200, {}, R"({"error_code":111,"error_msg":"Access token expired"})"});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().key_action, KeyAction::kRefreshCredential);
  EXPECT_TRUE(r.error().retryable);
  EXPECT_NE(r.error().message.find("Access token expired"), std::string::npos);
}

struct Case {
  std::string_view body;
  ErrorKind kind;
  bool retryable;
  KeyAction action;
  std::string_view client_code;
};

TEST(BaiduLegacyClassify, EveryClassOfTheCodeTable) {
  const Case cases[] = {
      {R"({"error_code":1,"error_msg":"Unknown error"})", ErrorKind::kUpstream, true,
       KeyAction::kNone, "upstream_error"},
      {R"({"error_code":3,"error_msg":"Unsupported openapi method"})", ErrorKind::kUpstream, false,
       KeyAction::kNone, "unsupported_method"},
      {R"({"error_code":4,"error_msg":"Open api request limit reached"})", ErrorKind::kUpstream,
       true, KeyAction::kNone, "upstream_overloaded"},
      {R"({"error_code":6,"error_msg":"No permission"})", ErrorKind::kPermission, true,
       KeyAction::kDisable, "permission_denied"},
      {R"({"error_code":13,"error_msg":"Get service token failed"})", ErrorKind::kAuthentication,
       true, KeyAction::kRefreshCredential, "invalid_api_key"},
      {R"({"error_code":110,"error_msg":"Access token invalid or no longer valid"})",
       ErrorKind::kAuthentication, true, KeyAction::kRefreshCredential, "invalid_api_key"},
      {R"({"error_code":"111","error_msg":"Access token expired"})", ErrorKind::kAuthentication,
       true, KeyAction::kRefreshCredential, "invalid_api_key"},
      {R"({"error_code":14,"error_msg":"IAM Certification failed"})", ErrorKind::kAuthentication,
       true, KeyAction::kDisable, "invalid_api_key"},
      {R"({"error_code":17,"error_msg":"daily limit"})", ErrorKind::kRateLimited, true,
       KeyAction::kCooldown, "daily_quota_exceeded"},
      {R"({"error_code":18,"error_msg":"qps limit"})", ErrorKind::kRateLimited, true,
       KeyAction::kCooldown, "rate_limit_exceeded"},
      {R"({"error_code":19,"error_msg":"total limit"})", ErrorKind::kRateLimited, true,
       KeyAction::kDisable, "insufficient_quota"},
      {R"({"error_code":336001,"error_msg":"Invalid Argument"})", ErrorKind::kInvalidRequest, false,
       KeyAction::kNone, "invalid_request"},
      {R"({"error_code":336100,"error_msg":"try again later"})", ErrorKind::kUpstream, true,
       KeyAction::kNone, "upstream_error"},
      {R"({"code":336501,"msg":"Rate limit reached for RPM"})", ErrorKind::kRateLimited, true,
       KeyAction::kCooldown, "rate_limit_exceeded"},
  };
  const auto p = make_baidu(options());
  for (const auto& c : cases) {
    const Error e = p->classify(200, {{"Date", "Mon, 01 Jan 2024 15:00:00 GMT"}}, c.body);
    EXPECT_EQ(e.kind, c.kind) << c.body;
    EXPECT_EQ(e.retryable, c.retryable) << c.body;
    EXPECT_EQ(e.key_action, c.action) << c.body;
    EXPECT_EQ(e.code, c.client_code) << c.body;
    EXPECT_EQ(e.source, "upstream:baidu") << c.body;
  }
  const Headers date{{"Date", "Mon, 01 Jan 2024 15:00:00 GMT"}};
  EXPECT_EQ(p->classify(200, date, R"({"error_code":17,"error_msg":"d"})").cooldown, seconds(3600));
  EXPECT_EQ(p->classify(200, date, R"({"error_code":18,"error_msg":"q"})").cooldown, seconds(1));
  EXPECT_EQ(p->classify(200, date, R"({"code":336501,"msg":"r"})").cooldown,
            kDefaultRateLimitCooldown);
}

// Recorded shape: no [DONE]; is_end marks the last chunk, then the upstream closes.
const std::string kL1 =
    R"({"id":"as-vb0m37ti8y","object":"chat.completion","created":1709089502,"sentence_id":0,"is_end":false,"is_truncated":false,"result":"当然可以，","need_clear_history":false,"finish_reason":"normal","usage":{"prompt_tokens":5,"completion_tokens":0,"total_tokens":5}})";
const std::string kL2 =
    R"({"id":"as-vb0m37ti8y","object":"chat.completion","created":1709089503,"sentence_id":1,"is_end":false,"is_truncated":false,"result":"下面是一个例子。","need_clear_history":false,"finish_reason":"normal","usage":{"prompt_tokens":5,"completion_tokens":0,"total_tokens":5}})";
const std::string kL3 =
    R"({"id":"as-vb0m37ti8y","object":"chat.completion","created":1709089531,"sentence_id":2,"is_end":true,"is_truncated":false,"result":"","need_clear_history":false,"finish_reason":"normal","usage":{"prompt_tokens":5,"completion_tokens":420,"total_tokens":425}})";

testing::DecoderFactory decoder() {
  return [] { return make_baidu(options())->stream_decoder(); };
}

TEST(BaiduLegacyStream, ChunksBecomeOpenAiChunksAndIsEndEnds) {
  const Decoded d = testing::expect_split_invariant(
      decoder(), "data: " + kL1 + "\n\ndata: " + kL2 + "\n\ndata: " + kL3 + "\n\n");
  ASSERT_FALSE(d.error) << d.error->message;
  EXPECT_TRUE(d.done);
  ASSERT_EQ(d.deltas.size(), 3u);
  EXPECT_EQ(
      json::parse(d.deltas[0].chunk_json),
      json::parse(R"({"id":"as-vb0m37ti8y","object":"chat.completion.chunk","created":1709089502,)"
                  R"("model":"ernie-3.5-8k","choices":[{"index":0,"delta":{"role":"assistant",)"
                  R"("content":"当然可以，"},"finish_reason":null}]})"));
  EXPECT_EQ(d.deltas[0].text + d.deltas[1].text + d.deltas[2].text, "当然可以，下面是一个例子。");
  EXPECT_FALSE(d.deltas[0].usage);
  EXPECT_FALSE(d.deltas[1].usage);
  EXPECT_EQ(d.deltas[2].finish_reason, "stop");
  ASSERT_TRUE(d.deltas[2].usage);
  EXPECT_EQ(d.deltas[2].usage->completion_tokens, 420);
  EXPECT_EQ(
      json::parse(d.deltas[2].chunk_json),
      json::parse(R"({"id":"as-vb0m37ti8y","object":"chat.completion.chunk","created":1709089531,)"
                  R"("model":"ernie-3.5-8k","choices":[{"index":0,"delta":{"content":""},)"
                  R"("finish_reason":"stop"}],)"
                  R"("usage":{"prompt_tokens":5,"completion_tokens":420,"total_tokens":425}})"));
}

TEST(BaiduLegacyStream, LastChunkWithoutItsBlankLineStillEnds) {
  const Decoded d = testing::expect_split_invariant(decoder(), "data: " + kL1 + "\n\ndata: " + kL3);
  ASSERT_FALSE(d.error) << d.error->message;
  EXPECT_TRUE(d.done);
  EXPECT_EQ(d.deltas.size(), 2u);
}

TEST(BaiduLegacyStream, CloseBeforeIsEndIsAnError) {
  const Decoded d = testing::expect_split_invariant(decoder(), "data: " + kL1 + "\n\n");
  ASSERT_TRUE(d.error);
  EXPECT_FALSE(d.done);
  EXPECT_EQ(d.deltas.size(), 1u);
  EXPECT_EQ(d.error->kind, ErrorKind::kUpstream);
}

TEST(BaiduLegacyStream, PlainJsonErrorBodyInsteadOfSse) {
  const Decoded d = testing::expect_split_invariant(
      decoder(), R"({"error_code":110,"error_msg":"Access token invalid or no longer valid"})");
  ASSERT_TRUE(d.error);
  EXPECT_TRUE(d.deltas.empty());
  EXPECT_EQ(d.error->key_action, KeyAction::kRefreshCredential);
}

TEST(BaiduLegacyStream, ErrorChunkInsideTheStream) {
  const Decoded d = testing::expect_split_invariant(
      decoder(), "data: " + kL1 + "\n\ndata: {\"error_code\":336501,\"error_msg\":\"RPM\"}\n\n");
  ASSERT_TRUE(d.error);
  EXPECT_EQ(d.deltas.size(), 1u);
  EXPECT_EQ(d.error->key_action, KeyAction::kCooldown);
}

TEST(BaiduLegacyStream, FunctionCallChunk) {
  const std::string fc =
      R"({"id":"as-f","created":7,"sentence_id":0,"is_end":true,"result":"","finish_reason":"function_call","function_call":{"name":"weather","arguments":"{}"},"usage":{"prompt_tokens":4,"completion_tokens":6,"total_tokens":10}})";
  const Decoded d = testing::expect_split_invariant(decoder(), "data: " + fc + "\n\n");
  ASSERT_FALSE(d.error) << d.error->message;
  ASSERT_EQ(d.deltas.size(), 1u);
  EXPECT_EQ(d.deltas[0].finish_reason, "tool_calls");
  EXPECT_EQ(
      json::parse(d.deltas[0].chunk_json).at("choices").at(0).at("delta"),
      json::parse(
          R"({"role":"assistant","content":"","tool_calls":[{"id":"call_as-f",)"
          R"("type":"function","function":{"name":"weather","arguments":"{}"},"index":0}]})"));
}

}  // namespace
}  // namespace bc::providers
