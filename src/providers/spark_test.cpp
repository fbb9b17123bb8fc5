#include "providers/spark.h"

#include <gtest/gtest.h>
#include <boost/json.hpp>

#include "providers/stream_testing.h"
#include "providers/upstream_error.h"

namespace bc::providers {
namespace {

namespace json = boost::json;
using std::chrono::milliseconds;
using std::chrono::seconds;
using testing::Decoded;

ChatRequest request(std::string_view body) {
  auto r = ChatRequest::parse(body);
  EXPECT_TRUE(r.ok()) << r.error().message;
  return std::move(r).value();
}

ProviderOptions options(std::string model = "generalv3.5", bool tools = true) {
  ProviderOptions o;
  o.model_name = "spark";
  o.upstream_model = std::move(model);
  o.supports_tools = tools;
  return o;
}

const Credential kKey{"0123456789abcdef0123456789abcdef:MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3", "s-1"};

TEST(SparkEncode, GoldenRequest) {
  auto r = make_spark(options())->encode(
      request(
          R"({"model":"spark","messages":[{"role":"system","content":"Be brief."},)"
          R"({"role":"user","content":"hi"}],"stream":true,"temperature":0,)"
          R"("max_completion_tokens":100,"top_k":4,"user":"u1","seed":7,"n":1,)"
          R"("tools":[{"type":"function","function":{"name":"weather"}}],"tool_choice":"auto"})"),
      kKey);
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->url, "https://spark-api-open.xf-yun.com/v1/chat/completions");
  EXPECT_EQ(find_header(r->headers, "Authorization"), "Bearer " + kKey.secret);
  EXPECT_TRUE(r->stream);
  EXPECT_EQ(
      json::parse(r->body),
      json::parse(
          R"({"model":"generalv3.5","messages":[{"role":"system","content":"Be brief."},)"
          R"({"role":"user","content":"hi"}],"stream":true,"temperature":0.01,)"
          R"("max_tokens":100,"top_k":4,"user":"u1",)"
          R"("tools":[{"type":"function","function":{"name":"weather"}}],"tool_choice":"auto"})"));
}

TEST(SparkEncode, LiteGetsTheSystemPromptInTheFirstUserMessage) {
  auto r = make_spark(options("lite", false))
               ->encode(request(R"({"messages":[{"role":"system","content":"Be brief."},)"
                                R"({"role":"assistant","content":"ok"},)"
                                R"({"role":"user","content":"hi"}],"temperature":3})"),
                        kKey);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(json::parse(r->body),
            json::parse(R"({"model":"lite","messages":[{"role":"assistant","content":"ok"},)"
                        R"({"role":"user","content":"Be brief.\n\nhi"}],"temperature":2.0})"));
}

TEST(SparkEncode, RejectsSeveralChoicesAndHonoursBaseUrl) {
  auto n = make_spark(options())->encode(
      request(R"({"messages":[{"role":"user","content":"x"}],"n":3})"), kKey);
  ASSERT_FALSE(n.ok());
  EXPECT_EQ(n.error().kind, ErrorKind::kInvalidRequest);
  ProviderOptions o = options();
  o.base_url = "http://127.0.0.1:9/v1/";
  auto r = make_spark(o)->encode(request(R"({"messages":[{"role":"user","content":"x"}]})"), kKey);
  EXPECT_EQ(r->url, "http://127.0.0.1:9/v1/chat/completions");
}

TEST(SparkDecode, SynthesizesTheOpenAiEnvelope) {
  auto r = make_spark(options())->decode(UpstreamResponse{
      200,
      {},
      R"({"code":0,"message":"Success","sid":"cha000b131f@dx19e55af0a4db894812",)"
      R"("choices":[{"message":{"role":"assistant","content":"你好！"},"index":0}],)"
      R"("usage":{"prompt_tokens":1,"completion_tokens":12,"total_tokens":13}})"});
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(
      json::value(r->completion),
      json::parse(
          R"({"id":"cha000b131f@dx19e55af0a4db894812","object":"chat.completion",)"
          R"("created":0,"model":"generalv3.5",)"
          R"("choices":[{"message":{"role":"assistant","content":"你好！","refusal":null},"index":0,)"
          R"("logprobs":null,"finish_reason":"stop"}],)"
          R"("usage":{"prompt_tokens":1,"completion_tokens":12,"total_tokens":13}})"));
  EXPECT_EQ(r->usage.total_tokens, 13);
}

TEST(SparkDecode, ToolCallFinishes) {
  auto r = make_spark(options())->decode(UpstreamResponse{
      200,
      {},
      R"({"code":0,"message":"Success","sid":"s","choices":[{"index":0,"message":{"role":"assistant",)"
      R"("content":"","tool_calls":[{"id":"c1","type":"function","function":{"name":"w","arguments":"{}"}}]}}]})"});
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->completion.at("choices").at(0).at("finish_reason"), json::value("tool_calls"));
}

TEST(SparkDecode, NonZeroCodeInA200BodyIsAnError) {
  auto r = make_spark(options())->decode(
      UpstreamResponse{200, {}, R"({"code":10007,"message":"traffic limited","sid":"cha0"})"});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().kind, ErrorKind::kRateLimited);
  EXPECT_EQ(r.error().key_action, KeyAction::kCooldown);
  EXPECT_EQ(r.error().source, "upstream:spark");
  // Even when choices came along.
  auto c = make_spark(options())->decode(
      UpstreamResponse{200, {}, R"({"code":10013,"message":"unsafe","sid":"x","choices":[]})"});
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.error().code, "content_filter");
}

struct Case {
  int status;
  std::int64_t code;
  ErrorKind kind;
  bool retryable;
  KeyAction action;
  std::string_view client_code;
};

TEST(SparkClassify, EveryClassOfTheCodeTable) {
  const Case cases[] = {
      {200, 10005, ErrorKind::kInvalidRequest, false, KeyAction::kNone, "invalid_request"},
      {400, 10163, ErrorKind::kInvalidRequest, false, KeyAction::kNone, "invalid_request"},
      {200, 10006, ErrorKind::kRateLimited, true, KeyAction::kCooldown,
       "concurrency_limit_exceeded"},
      {429, 10007, ErrorKind::kRateLimited, true, KeyAction::kCooldown,
       "concurrency_limit_exceeded"},
      {200, 10008, ErrorKind::kUpstream, true, KeyAction::kNone, "upstream_overloaded"},
      {500, 10012, ErrorKind::kUpstream, true, KeyAction::kNone, "upstream_error"},
      {200, 10110, ErrorKind::kUpstream, true, KeyAction::kNone, "upstream_error"},
      {200, 10013, ErrorKind::kInvalidRequest, false, KeyAction::kNone, "content_filter"},
      {200, 10019, ErrorKind::kInvalidRequest, false, KeyAction::kNone, "content_filter"},
      {403, 10015, ErrorKind::kPermission, true, KeyAction::kDisable, "permission_denied"},
      {200, 10016, ErrorKind::kPermission, true, KeyAction::kDisable, "permission_denied"},
      {200, 10907, ErrorKind::kInvalidRequest, false, KeyAction::kNone, "context_length_exceeded"},
      {200, 11200, ErrorKind::kRateLimited, true, KeyAction::kDisable, "insufficient_quota"},
      {429, 11201, ErrorKind::kRateLimited, true, KeyAction::kCooldown, "daily_quota_exceeded"},
      {429, 11202, ErrorKind::kRateLimited, true, KeyAction::kCooldown, "rate_limit_exceeded"},
      {429, 11203, ErrorKind::kRateLimited, true, KeyAction::kCooldown,
       "concurrency_limit_exceeded"},
  };
  const auto p = make_spark(options());
  for (const auto& c : cases) {
    const Error e =
        p->classify(c.status, {{"Date", "Mon, 01 Jan 2024 15:00:00 GMT"}},
                    R"({"code":)" + std::to_string(c.code) + R"(,"message":"m","sid":"cha0"})");
    EXPECT_EQ(e.kind, c.kind) << c.code;
    EXPECT_EQ(e.retryable, c.retryable) << c.code;
    EXPECT_EQ(e.key_action, c.action) << c.code;
    EXPECT_EQ(e.code, c.client_code) << c.code;
    EXPECT_EQ(e.source, "upstream:spark") << c.code;
    EXPECT_NE(e.message.find(std::to_string(c.code)), std::string::npos) << c.code;
  }
}

TEST(SparkClassify, Cooldowns) {
  const auto p = make_spark(options());
  auto cooldown = [&](std::int64_t code) {
    return p
        ->classify(429, {{"Date", "Mon, 01 Jan 2024 15:00:00 GMT"}},
                   R"({"code":)" + std::to_string(code) + R"(,"message":"m"})")
        .cooldown;
  };
  EXPECT_EQ(cooldown(10006), seconds(1));
  EXPECT_EQ(cooldown(11202), seconds(1));
  EXPECT_GE(cooldown(10007), seconds(1));
  EXPECT_LE(cooldown(10007), seconds(3));
  // 15:00 UTC is 23:00 in Shanghai: an hour to the daily reset.
  EXPECT_EQ(cooldown(11201), seconds(3600));
  EXPECT_EQ(cooldown(11200), kBillingReprobe);
}

TEST(SparkClassify, NonSparkBodiesFallBackToHttp) {
  const auto p = make_spark(options());
  const Error auth = p->classify(401, {}, R"({"message":"Unauthorized"})");
  EXPECT_EQ(auth.key_action, KeyAction::kDisable);
  const Error unknown = p->classify(200, {}, R"({"code":99999,"message":"new code"})");
  EXPECT_EQ(unknown.kind, ErrorKind::kUpstream);
  EXPECT_TRUE(unknown.retryable);
  const Error rate = p->classify(429, {{"Retry-After", "7"}}, "Too Many Requests");
  EXPECT_EQ(rate.cooldown, seconds(7));
}

const std::string kS1 =
    R"({"code":0,"message":"Success","sid":"cha000d05ef@dx196553ae","id":"cha000d05ef@dx196553ae","created":1745186655,"choices":[{"delta":{"role":"assistant","content":"你好"},"index":0}]})";
const std::string kS2 =
    R"({"code":0,"message":"Success","sid":"cha000d05ef@dx196553ae","id":"cha000d05ef@dx196553ae","created":1745186655,"choices":[{"delta":{"role":"assistant","content":"！😊"},"index":0}],"usage":{"prompt_tokens":1,"completion_tokens":418,"total_tokens":419}})";

testing::DecoderFactory spark_decoder() {
  return [] { return make_spark(options())->stream_decoder(); };
}

TEST(SparkStream, RecordedShapeBecomesOpenAiChunks) {
  const Decoded d = testing::expect_split_invariant(
      spark_decoder(), "data: " + kS1 + "\n\ndata:" + kS2 + "\n\ndata: [DONE]\n\n");
  ASSERT_FALSE(d.error) << d.error->message;
  EXPECT_TRUE(d.done);
  ASSERT_EQ(d.deltas.size(), 2u);
  EXPECT_EQ(
      json::parse(d.deltas[0].chunk_json),
      json::parse(
          R"({"id":"cha000d05ef@dx196553ae","created":1745186655,)"
          R"("choices":[{"delta":{"role":"assistant","content":"你好"},"index":0,)"
          R"("finish_reason":null}],"object":"chat.completion.chunk","model":"generalv3.5"})"));
  // The last content chunk keeps its text, carries usage and gets the finish reason.
  EXPECT_EQ(d.deltas[1].text, "！😊");
  EXPECT_EQ(d.deltas[1].finish_reason, "stop");
  ASSERT_TRUE(d.deltas[1].usage);
  EXPECT_EQ(d.deltas[1].usage->total_tokens, 419);
  EXPECT_EQ(json::parse(d.deltas[1].chunk_json).at("choices").at(0).at("finish_reason"),
            json::value("stop"));
}

TEST(SparkStream, FinishIsSynthesizedAtDoneWithoutUsage) {
  const std::string tool =
      R"({"code":0,"message":"Success","sid":"s","id":"s","created":5,"choices":[{"index":0,"delta":{"role":"assistant","content":"","tool_calls":[{"index":0,"id":"c1","type":"function","function":{"name":"w","arguments":"{}"}}]}}]})";
  const Decoded d =
      testing::expect_split_invariant(spark_decoder(), "data: " + tool + "\n\ndata: [DONE]\n\n");
  ASSERT_FALSE(d.error) << d.error->message;
  ASSERT_EQ(d.deltas.size(), 2u);
  EXPECT_EQ(d.deltas[1].finish_reason, "tool_calls");
  EXPECT_EQ(
      json::parse(d.deltas[1].chunk_json),
      json::parse(R"({"id":"s","object":"chat.completion.chunk","created":5,"model":"generalv3.5",)"
                  R"("choices":[{"index":0,"delta":{},"finish_reason":"tool_calls"}]})"));
}

TEST(SparkStream, ErrorCodeInsideTheStream) {
  const Decoded d = testing::expect_split_invariant(
      spark_decoder(),
      "data: " + kS1 + "\n\ndata: {\"code\":10008,\"message\":\"busy\",\"sid\":\"x\"}\n\n");
  ASSERT_TRUE(d.error);
  EXPECT_EQ(d.deltas.size(), 1u);
  EXPECT_EQ(d.error->kind, ErrorKind::kUpstream);
  EXPECT_EQ(d.error->code, "upstream_overloaded");
  EXPECT_TRUE(d.error->retryable);
}

TEST(SparkStream, OutputReviewFailureEndsWithContentFilter) {
  const Decoded d = testing::expect_split_invariant(
      spark_decoder(),
      "data: " + kS1 +
          "\n\ndata: {\"code\":10014,\"message\":\"output unsafe\",\"sid\":\"x\"}\n\n");
  ASSERT_FALSE(d.error) << d.error->message;
  EXPECT_TRUE(d.done);
  ASSERT_EQ(d.deltas.size(), 2u);
  EXPECT_EQ(d.deltas[1].finish_reason, "content_filter");
  EXPECT_EQ(json::parse(d.deltas[1].chunk_json).at("id"), json::value("cha000d05ef@dx196553ae"));
}

TEST(SparkStream, JsonErrorBodyInsteadOfSse) {
  const Decoded d = testing::expect_split_invariant(
      spark_decoder(), "\n{\"code\":11202,\"message\":\"qps\",\"sid\":\"x\"}");
  ASSERT_TRUE(d.error);
  EXPECT_TRUE(d.deltas.empty());
  EXPECT_EQ(d.error->key_action, KeyAction::kCooldown);
  EXPECT_EQ(d.error->cooldown, seconds(1));
}

TEST(SparkStream, CutBeforeDoneIsAnError) {
  const Decoded d = testing::expect_split_invariant(spark_decoder(), "data: " + kS1 + "\n\n");
  ASSERT_TRUE(d.error);
  EXPECT_FALSE(d.done);
  EXPECT_EQ(d.deltas.size(), 1u);
}

}  // namespace
}  // namespace bc::providers
