#include "providers/zhipu.h"

#include <gtest/gtest.h>
#include <boost/json.hpp>

#include "providers/stream_testing.h"
#include "providers/upstream_error.h"

namespace bc::providers {
namespace {

namespace json = boost::json;
using std::chrono::milliseconds;
using testing::Decoded;

ChatRequest request(std::string_view body) {
  auto r = ChatRequest::parse(body);
  EXPECT_TRUE(r.ok()) << r.error().message;
  return std::move(r).value();
}

ProviderOptions options(bool tools = true) {
  ProviderOptions o;
  o.model_name = "glm";
  o.upstream_model = "glm-4-flash";
  o.supports_tools = tools;
  return o;
}

const Credential kKey{"0f1e2d3c4b5a69788796a5b4c3d2e1f0.AbCdEfGh12345678", "zhipu-1"};

json::value encode(std::string_view body, ProviderOptions o = options()) {
  auto r = make_zhipu(o)->encode(request(body), kKey);
  EXPECT_TRUE(r.ok()) << r.error().message;
  return r.ok() ? json::parse(r->body) : json::value();
}

TEST(ZhipuEncode, GoldenRequest) {
  auto r = make_zhipu(options())->encode(
      request(
          R"({"model":"glm","messages":[{"role":"user","content":"hi"}],"stream":true,)"
          R"("temperature":0,"top_p":1,"stop":["END","STOP"],"max_completion_tokens":100,)"
          R"("user":"u-123456","presence_penalty":0.5,"n":1,)"
          R"("tools":[{"type":"function","function":{"name":"weather"}},{"type":"web_search","web_search":{"enable":true}}],)"
          R"("tool_choice":{"type":"function","function":{"name":"weather"}}})"),
      kKey);
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->url, "https://open.bigmodel.cn/api/paas/v4/chat/completions");
  EXPECT_EQ(find_header(r->headers, "Authorization"),
            "Bearer 0f1e2d3c4b5a69788796a5b4c3d2e1f0.AbCdEfGh12345678");
  EXPECT_TRUE(r->stream);
  EXPECT_EQ(
      json::parse(r->body),
      json::parse(
          R"({"model":"glm-4-flash","messages":[{"role":"user","content":"hi"}],)"
          R"("stream":true,"stream_options":{"include_usage":true},)"
          R"("temperature":0.01,"do_sample":false,"top_p":0.99,"stop":["END"],)"
          R"("max_tokens":100,"user_id":"u-123456",)"
          R"("tools":[{"type":"function","function":{"name":"weather"}},{"type":"web_search","web_search":{"enable":true}}],)"
          R"("tool_choice":"auto"})"));
}

TEST(ZhipuEncode, ClampsIntoTheOpenInterval) {
  const auto high =
      encode(R"({"messages":[{"role":"user","content":"x"}],"temperature":1.7,"top_p":0})");
  EXPECT_EQ(high.at("temperature"), json::value(0.99));
  EXPECT_EQ(high.at("top_p"), json::value(0.01));
  EXPECT_FALSE(high.as_object().contains("do_sample"));
  const auto mid =
      encode(R"({"messages":[{"role":"user","content":"x"}],"temperature":0.5,"top_p":0.7})");
  EXPECT_EQ(mid.at("temperature"), json::value(0.5));
  EXPECT_EQ(mid.at("top_p"), json::value(0.7));
  // A caller's own do_sample wins.
  const auto own =
      encode(R"({"messages":[{"role":"user","content":"x"}],"temperature":0,"do_sample":true})");
  EXPECT_EQ(own.at("do_sample"), json::value(true));
  // The default temperature is clamped too.
  ProviderOptions o = options();
  o.default_temperature = 1.0;
  EXPECT_EQ(encode(R"({"messages":[{"role":"user","content":"x"}]})", o).at("temperature"),
            json::value(0.99));
}

TEST(ZhipuEncode, SendsAtMostOneStopWord) {
  EXPECT_EQ(encode(R"({"messages":[{"role":"user","content":"x"}],"stop":"END"})").at("stop"),
            json::parse(R"(["END"])"));
  EXPECT_FALSE(encode(R"({"messages":[{"role":"user","content":"x"}],"stop":[]})")
                   .as_object()
                   .contains("stop"));
}

TEST(ZhipuEncode, ToolChoiceNoneDropsTools) {
  const auto body = encode(
      R"({"messages":[{"role":"user","content":"x"}],"tools":[{"type":"function","function":{"name":"f"}}],"tool_choice":"none"})");
  EXPECT_FALSE(body.as_object().contains("tools"));
  EXPECT_FALSE(body.as_object().contains("tool_choice"));
  const auto unsupported = encode(
      R"({"messages":[{"role":"user","content":"x"}],"tools":[{"type":"function","function":{"name":"f"}}],"tool_choice":"auto"})",
      options(false));
  EXPECT_FALSE(unsupported.as_object().contains("tools"));
  EXPECT_FALSE(unsupported.as_object().contains("tool_choice"));
}

TEST(ZhipuEncode, RejectsSeveralChoices) {
  auto r = make_zhipu(options())->encode(
      request(R"({"messages":[{"role":"user","content":"x"}],"n":2})"), kKey);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().kind, ErrorKind::kInvalidRequest);
  EXPECT_FALSE(r.error().retryable);
}

TEST(ZhipuEncode, CustomBaseUrl) {
  ProviderOptions o = options();
  o.base_url = "https://api.z.ai/api/paas/v4/";
  auto r = make_zhipu(o)->encode(request(R"({"messages":[{"role":"user","content":"x"}]})"), kKey);
  EXPECT_EQ(r->url, "https://api.z.ai/api/paas/v4/chat/completions");
}

constexpr std::string_view kCompletion = R"({
  "id": "20250926190538a1b2c3d4e5f6a7b8", "request_id": "20250926190538a1b2c3d4e5f6a7b8",
  "created": 1758884739, "model": "glm-4-flash",
  "choices": [{"index": 0, "finish_reason": "stop",
               "message": {"role": "assistant", "content": "Olá!"}}],
  "usage": {"prompt_tokens": 18, "completion_tokens": 4, "total_tokens": 22,
            "prompt_tokens_details": {"cached_tokens": 0}}})";

TEST(ZhipuDecode, AddsWhatOpenAisSchemaRequires) {
  auto r = make_zhipu(options())->decode(UpstreamResponse{200, {}, std::string(kCompletion)});
  ASSERT_TRUE(r.ok()) << r.error().message;
  json::value want = json::parse(kCompletion);
  want.as_object()["object"] = "chat.completion";
  want.at("choices").at(0).as_object()["logprobs"] = nullptr;
  want.at("choices").at(0).at("message").as_object()["refusal"] = nullptr;
  EXPECT_EQ(json::value(r->completion), want);
  EXPECT_EQ(r->text(), "Olá!");
  EXPECT_EQ(r->usage.prompt_tokens, 18);
  EXPECT_EQ(r->usage.completion_tokens, 4);
  EXPECT_EQ(r->usage.total_tokens, 22);
}

TEST(ZhipuDecode, MapsFinishReasons) {
  std::string sensitive(kCompletion);
  sensitive.replace(sensitive.find("\"stop\""), 6, "\"sensitive\"");
  auto r = make_zhipu(options())->decode(UpstreamResponse{200, {}, sensitive});
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->completion.at("choices").at(0).at("finish_reason"), json::value("content_filter"));

  std::string failed(kCompletion);
  failed.replace(failed.find("\"stop\""), 6, "\"network_error\"");
  auto e = make_zhipu(options())->decode(UpstreamResponse{200, {}, failed});
  ASSERT_FALSE(e.ok());
  EXPECT_EQ(e.error().kind, ErrorKind::kUpstream);
  EXPECT_TRUE(e.error().retryable);
  EXPECT_EQ(e.error().source, "upstream:zhipu");
}

TEST(ZhipuDecode, BusinessCodeInA200BodyIsClassified) {
  auto r = make_zhipu(options())->decode(UpstreamResponse{
      200, {}, R"({"error":{"code":"1305","message":"model overloaded"},"request_id":"2025"})"});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().kind, ErrorKind::kRateLimited);
  EXPECT_EQ(r.error().key_action, KeyAction::kCooldown);
  EXPECT_LE(r.error().cooldown, milliseconds(5000));
}

// recorded shape: no `object`, finish_reason absent on intermediate chunks.
const std::string kZ1 =
    R"({"id":"2025092619055700aa","created":1758884757,"model":"glm-4-flash","choices":[{"index":0,"delta":{"role":"assistant","content":"Hello"}}]})";
const std::string kZ2 =
    R"({"id":"2025092619055700aa","created":1758884757,"model":"glm-4-flash","choices":[{"index":0,"delta":{"role":"assistant","content":" there"}}]})";
const std::string kZ3 =
    R"({"id":"2025092619055700aa","created":1758884757,"model":"glm-4-flash","choices":[{"index":0,"finish_reason":"stop","delta":{"role":"assistant","content":""}}],"usage":{"prompt_tokens":9,"completion_tokens":3,"total_tokens":12}})";

std::string zhipu_stream() {
  return "data: " + kZ1 + "\n\ndata: " + kZ2 + "\n\ndata: " + kZ3 + "\n\ndata: [DONE]\n\n";
}

testing::DecoderFactory zhipu_decoder() {
  return [] { return make_zhipu(options())->stream_decoder(); };
}

TEST(ZhipuStream, AddsObjectAndNullFinishReason) {
  const Decoded d = testing::expect_split_invariant(zhipu_decoder(), zhipu_stream());
  ASSERT_FALSE(d.error) << d.error->message;
  EXPECT_TRUE(d.done);
  ASSERT_EQ(d.deltas.size(), 3u);
  json::value first = json::parse(kZ1);
  first.as_object()["object"] = "chat.completion.chunk";
  first.at("choices").at(0).as_object()["finish_reason"] = nullptr;
  EXPECT_EQ(json::parse(d.deltas[0].chunk_json), first);
  EXPECT_EQ(d.deltas[0].text + d.deltas[1].text + d.deltas[2].text, "Hello there");
  EXPECT_EQ(d.deltas[2].finish_reason, "stop");
  ASSERT_TRUE(d.deltas[2].usage);
  EXPECT_EQ(d.deltas[2].usage->total_tokens, 12);
  EXPECT_EQ(json::parse(d.deltas[2].chunk_json).at("object"), json::value("chat.completion.chunk"));
}

TEST(ZhipuStream, ToolCallFinishIsEmittedOnce) {
  const std::string bytes =
      R"(data: {"id":"t","created":1,"model":"glm-4.5","choices":[{"index":0,"finish_reason":"tool_calls","delta":{"tool_calls":[{"id":"call_51a9","index":0,"type":"function","function":{"name":"weather","arguments":"{\"location\": \"Florence\"}"}}]}}]})"
      "\n\n"
      R"(data: {"id":"t","created":1,"model":"glm-4.5","choices":[{"index":0,"finish_reason":"tool_calls","delta":{"role":"assistant","content":""}}],"usage":{"prompt_tokens":179,"completion_tokens":70,"total_tokens":249}})"
      "\n\ndata: [DONE]\n\n";
  const Decoded d = testing::expect_split_invariant(zhipu_decoder(), bytes);
  ASSERT_FALSE(d.error);
  ASSERT_EQ(d.deltas.size(), 2u);
  EXPECT_EQ(d.deltas[0].finish_reason, "tool_calls");
  EXPECT_EQ(d.deltas[1].finish_reason, "");
  EXPECT_TRUE(
      json::parse(d.deltas[1].chunk_json).at("choices").at(0).at("finish_reason").is_null());
  ASSERT_TRUE(d.deltas[1].usage);
  EXPECT_EQ(d.deltas[1].usage->total_tokens, 249);
  // The tool call itself is relayed intact.
  EXPECT_EQ(
      json::parse(d.deltas[0].chunk_json).at("choices").at(0).at("delta").at("tool_calls"),
      json::parse(
          R"([{"id":"call_51a9","index":0,"type":"function","function":{"name":"weather","arguments":"{\"location\": \"Florence\"}"}}])"));
}

TEST(ZhipuStream, SensitiveBecomesContentFilter) {
  const Decoded d = testing::decode_whole(
      zhipu_decoder(),
      R"(data: {"id":"s","choices":[{"index":0,"finish_reason":"sensitive","delta":{"content":""}}]})"
      "\n\ndata: [DONE]\n\n");
  ASSERT_FALSE(d.error);
  ASSERT_EQ(d.deltas.size(), 1u);
  EXPECT_EQ(d.deltas[0].finish_reason, "content_filter");
  EXPECT_EQ(json::parse(d.deltas[0].chunk_json).at("choices").at(0).at("finish_reason"),
            json::value("content_filter"));
}

TEST(ZhipuStream, NetworkErrorEndsTheStreamWithAnError) {
  const std::string bytes =
      "data: " + kZ1 +
      "\n\n"
      R"(data: {"id":"s","choices":[{"index":0,"finish_reason":"network_error","delta":{"content":""}}]})"
      "\n\n";
  const Decoded d = testing::expect_split_invariant(zhipu_decoder(), bytes);
  ASSERT_TRUE(d.error);
  EXPECT_EQ(d.deltas.size(), 1u);
  EXPECT_EQ(d.error->kind, ErrorKind::kUpstream);
  EXPECT_EQ(d.error->source, "upstream:zhipu");
}

TEST(ZhipuStream, BusinessErrorInsideTheStreamIsClassified) {
  const Decoded d = testing::decode_whole(
      zhipu_decoder(),
      "data: {\"error\":{\"code\":\"1302\",\"message\":\"concurrency too high\"}}\n\n");
  ASSERT_TRUE(d.error);
  EXPECT_EQ(d.error->kind, ErrorKind::kRateLimited);
  EXPECT_EQ(d.error->key_action, KeyAction::kCooldown);
}

TEST(ZhipuStream, CutStreamIsAnError) {
  const Decoded d = testing::expect_split_invariant(zhipu_decoder(), "data: " + kZ1 + "\n\n");
  ASSERT_TRUE(d.error);
  EXPECT_EQ(d.error->message, "upstream stream ended before [DONE]");
  EXPECT_EQ(d.error->source, "upstream:zhipu");
}

Error classify(int status, std::string_view code, Headers headers = {}) {
  const std::string body = R"({"error":{"code":")" + std::string(code) +
                           R"(","message":"zhipu says no"},"request_id":"r"})";
  return make_zhipu(options())->classify(status, headers, body);
}

TEST(ZhipuClassify, RateAndConcurrencyLimitsCoolTheKey) {
  const Error concurrency = classify(429, "1302");
  EXPECT_EQ(concurrency.kind, ErrorKind::kRateLimited);
  EXPECT_TRUE(concurrency.retryable);
  EXPECT_EQ(concurrency.key_action, KeyAction::kCooldown);
  EXPECT_GE(concurrency.cooldown, milliseconds(1000));
  EXPECT_LE(concurrency.cooldown, milliseconds(3000));
  EXPECT_EQ(concurrency.source, "upstream:zhipu");
  EXPECT_NE(concurrency.message.find("1302"), std::string::npos);
  EXPECT_NE(concurrency.message.find("zhipu says no"), std::string::npos);

  const Error frequency = classify(429, "1303");
  EXPECT_EQ(frequency.key_action, KeyAction::kCooldown);
  EXPECT_EQ(frequency.cooldown, milliseconds(20'000));
  EXPECT_EQ(classify(429, "1303", {{"Retry-After", "45"}}).cooldown, milliseconds(45'000));
  EXPECT_EQ(classify(429, "1313").cooldown, std::chrono::minutes(30));
  EXPECT_EQ(classify(429, "1308").cooldown, std::chrono::hours(5));
}

TEST(ZhipuClassify, DailyQuotaCoolsUntilMidnightInShanghai) {
  // 15:00 UTC is 23:00 in Shanghai: one hour left.
  EXPECT_EQ(classify(429, "1304", {{"Date", "Fri, 26 Sep 2025 15:00:00 GMT"}}).cooldown,
            std::chrono::hours(1));
  // 16:30 UTC is 00:30 the next day: 23.5 hours left.
  EXPECT_EQ(classify(429, "1304", {{"Date", "Fri, 26 Sep 2025 16:30:00 GMT"}}).cooldown,
            std::chrono::minutes(23 * 60 + 30));
  EXPECT_EQ(classify(429, "1304").cooldown, std::chrono::hours(1));
}

TEST(ZhipuClassify, BalanceAndAuthProblemsDisableTheKey) {
  for (std::string_view code : {"1000", "1001", "1002", "1003", "1004", "1005", "1110", "1113"}) {
    const Error e = classify(401, code);
    EXPECT_EQ(e.key_action, KeyAction::kDisable) << code;
    EXPECT_TRUE(e.retryable) << code;
  }
  EXPECT_EQ(classify(401, "1002").kind, ErrorKind::kAuthentication);
  const Error arrears = classify(429, "1113");
  EXPECT_EQ(arrears.code, "insufficient_quota");
  EXPECT_EQ(arrears.cooldown, kBillingReprobe);
}

TEST(ZhipuClassify, BadRequestsFailWithoutKeyPunishment) {
  for (std::string_view code : {"1210", "1211", "1212", "1213", "1214", "1215", "1261", "1301"}) {
    const Error e = classify(400, code);
    EXPECT_EQ(e.kind, ErrorKind::kInvalidRequest) << code;
    EXPECT_FALSE(e.retryable) << code;
    EXPECT_EQ(e.key_action, KeyAction::kNone) << code;
  }
  EXPECT_EQ(classify(400, "1301").code, "content_filter");
  EXPECT_EQ(classify(400, "1261").code, "context_length_exceeded");
}

TEST(ZhipuClassify, ServerSideProblemsRetryWithoutKeyAction) {
  for (std::string_view code : {"500", "1200", "1230", "1234", "1312"}) {
    const Error e = classify(500, code);
    EXPECT_EQ(e.kind, ErrorKind::kUpstream) << code;
    EXPECT_TRUE(e.retryable) << code;
    EXPECT_EQ(e.key_action, KeyAction::kNone) << code;
  }
}

TEST(ZhipuClassify, UnknownCodesFallBackToTheHttpStatus) {
  EXPECT_EQ(classify(429, "1999").key_action, KeyAction::kCooldown);
  EXPECT_EQ(classify(401, "abc").kind, ErrorKind::kAuthentication);
  const Error no_body = make_zhipu(options())->classify(503, {}, "");
  EXPECT_EQ(no_body.kind, ErrorKind::kUpstream);
  EXPECT_EQ(no_body.source, "upstream:zhipu");
}

}  // namespace
}  // namespace bc::providers
