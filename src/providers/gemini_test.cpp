#include "providers/gemini.h"

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
  o.model_name = "gemini";
  o.upstream_model = "gemini-2.5-flash";
  o.supports_tools = tools;
  return o;
}

const Credential kKey{"AIzaSyA0123456789abcdefGHIJKLmnopqrs", "gemini-1"};

json::value encode(std::string_view body, ProviderOptions o = options()) {
  auto r = make_gemini(o)->encode(request(body), kKey);
  EXPECT_TRUE(r.ok()) << r.error().message;
  return r.ok() ? json::parse(r->body) : json::value();
}

TEST(GeminiEncode, GoldenRequestWithSystemToolsAndToolResults) {
  ProviderOptions o = options();
  o.default_temperature = 0.4;
  auto r = make_gemini(o)->encode(
      request(
          R"({"model":"gemini","max_tokens":256,"stop":["END"],"top_p":0.9,"messages":[)"
          R"({"role":"system","content":"Be brief."},)"
          R"({"role":"user","content":"Weather in Florence?"},)"
          R"({"role":"user","content":[{"type":"text","text":"And Rome."}]},)"
          R"({"role":"assistant","content":null,"tool_calls":[)"
          R"({"id":"call_r1_0__thought__CiQBsig","type":"function","function":{"name":"weather","arguments":"{\"city\":\"Florence\"}"}},)"
          R"({"id":"fc-77","type":"function","function":{"name":"weather","arguments":"{\"city\":\"Rome\"}"}}]},)"
          R"({"role":"tool","tool_call_id":"call_r1_0__thought__CiQBsig","content":"{\"temp\":31}"},)"
          R"({"role":"tool","tool_call_id":"fc-77","content":"29 C"}],)"
          R"("tools":[{"type":"function","function":{"name":"weather","description":"Current weather",)"
          R"("parameters":{"$schema":"http://json-schema.org/draft-07/schema#","type":"object",)"
          R"("properties":{"city":{"type":"string"}},"required":["city"],"additionalProperties":false}}}],)"
          R"("tool_choice":{"type":"function","function":{"name":"weather"}}})"),
      kKey);
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(
      r->url,
      "https://generativelanguage.googleapis.com/v1beta/models/gemini-2.5-flash:generateContent");
  EXPECT_EQ(find_header(r->headers, "x-goog-api-key"), kKey.secret);
  EXPECT_FALSE(find_header(r->headers, "authorization"));
  EXPECT_FALSE(r->stream);
  EXPECT_EQ(
      json::parse(r->body),
      json::parse(
          R"({"contents":[)"
          R"({"role":"user","parts":[{"text":"Weather in Florence?"},{"text":"And Rome."}]},)"
          R"({"role":"model","parts":[)"
          R"({"functionCall":{"name":"weather","args":{"city":"Florence"}},"thoughtSignature":"CiQBsig"},)"
          R"({"functionCall":{"name":"weather","args":{"city":"Rome"},"id":"fc-77"}}]},)"
          R"({"role":"user","parts":[)"
          R"({"functionResponse":{"name":"weather","response":{"temp":31}}},)"
          R"({"functionResponse":{"name":"weather","response":{"result":"29 C"},"id":"fc-77"}}]}],)"
          R"("systemInstruction":{"parts":[{"text":"Be brief."}]},)"
          R"("generationConfig":{"temperature":0.4,"topP":0.9,"maxOutputTokens":256,"stopSequences":["END"]},)"
          R"("tools":[{"functionDeclarations":[{"name":"weather","description":"Current weather",)"
          R"("parameters":{"type":"object","properties":{"city":{"type":"string"}},"required":["city"]}}]}],)"
          R"("toolConfig":{"functionCallingConfig":{"mode":"ANY","allowedFunctionNames":["weather"]}}})"));
}

TEST(GeminiEncode, StreamingUsesTheSseEndpoint) {
  ProviderOptions o = options();
  o.base_url = "http://127.0.0.1:9000/v1beta/";
  o.upstream_model = "models/gemini-2.0-flash";
  auto r = make_gemini(o)->encode(
      request(R"({"messages":[{"role":"user","content":"x"}],"stream":true})"), kKey);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->url,
            "http://127.0.0.1:9000/v1beta/models/gemini-2.0-flash:streamGenerateContent?alt=sse");
  EXPECT_TRUE(r->stream);
  // The caller's `stream` is in the URL, not the body.
  EXPECT_EQ(json::parse(r->body),
            json::parse(R"({"contents":[{"role":"user","parts":[{"text":"x"}]}]})"));
}

TEST(GeminiEncode, CallerTemperatureWinsOverTheDefault) {
  ProviderOptions o = options();
  o.default_temperature = 0.4;
  EXPECT_EQ(encode(R"({"messages":[{"role":"user","content":"x"}],"temperature":1.5})", o)
                .at("generationConfig")
                .at("temperature"),
            json::value(1.5));
}

TEST(GeminiEncode, ToolChoiceMappingAndUnsupportedTools) {
  const std::string head =
      R"({"messages":[{"role":"user","content":"x"}],"tools":[{"type":"function","function":{"name":"f"}}])";
  EXPECT_EQ(encode(head + R"(,"tool_choice":"auto"})").at("toolConfig"),
            json::parse(R"({"functionCallingConfig":{"mode":"AUTO"}})"));
  EXPECT_EQ(encode(head + R"(,"tool_choice":"none"})").at("toolConfig"),
            json::parse(R"({"functionCallingConfig":{"mode":"NONE"}})"));
  EXPECT_EQ(encode(head + R"(,"tool_choice":"required"})").at("toolConfig"),
            json::parse(R"({"functionCallingConfig":{"mode":"ANY"}})"));
  EXPECT_EQ(encode(head + "}").at("tools"),
            json::parse(R"([{"functionDeclarations":[{"name":"f"}]}])"));
  const auto unsupported = encode(head + R"(,"tool_choice":"auto"})", options(false));
  EXPECT_FALSE(unsupported.as_object().contains("tools"));
  EXPECT_FALSE(unsupported.as_object().contains("toolConfig"));
}

TEST(GeminiEncode, ImagesBecomeInlineDataOrFileData) {
  const auto body =
      encode(R"({"messages":[{"role":"user","content":[{"type":"text","text":"What is this?"},)"
             R"({"type":"image_url","image_url":{"url":"data:image/png;base64,iVBORw0KGgo="}},)"
             R"({"type":"image_url","image_url":{"url":"https://example.com/cat.webp?x=1"}}]}]})");
  EXPECT_EQ(
      body.at("contents").at(0).at("parts"),
      json::parse(
          R"([{"text":"What is this?"},)"
          R"({"inlineData":{"mimeType":"image/png","data":"iVBORw0KGgo="}},)"
          R"({"fileData":{"mimeType":"image/webp","fileUri":"https://example.com/cat.webp?x=1"}}])"));
}

TEST(GeminiEncode, RejectsSeveralChoices) {
  auto r = make_gemini(options())->encode(
      request(R"({"messages":[{"role":"user","content":"x"}],"n":3})"), kKey);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().kind, ErrorKind::kInvalidRequest);
}

// A non-streamed generateContent answer.
constexpr std::string_view kText = R"({
  "candidates": [{"content": {"role": "model", "parts": [{"text": "The weather in Florence is 40 C."}]},
                  "finishReason": "STOP", "index": 0}],
  "usageMetadata": {"promptTokenCount": 84, "candidatesTokenCount": 12, "totalTokenCount": 96,
                    "promptTokensDetails": [{"modality": "TEXT", "tokenCount": 84}]},
  "modelVersion": "gemini-2.5-flash", "responseId": "8QcJadawA56gz7IPnsmG-QY"})";

TEST(GeminiDecode, TextAndUsage) {
  auto r = make_gemini(options())->decode(UpstreamResponse{200, {}, std::string(kText)});
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(json::value(r->completion),
            json::parse(
                R"({"id":"8QcJadawA56gz7IPnsmG-QY","object":"chat.completion","created":0,)"
                R"("model":"gemini-2.5-flash","choices":[{"index":0,"message":{"role":"assistant",)"
                R"("content":"The weather in Florence is 40 C.","refusal":null},"logprobs":null,)"
                R"("finish_reason":"stop"}],)"
                R"("usage":{"prompt_tokens":84,"completion_tokens":12,"total_tokens":96}})"));
  EXPECT_EQ(r->usage.total_tokens, 96);
}

TEST(GeminiDecode, FunctionCallsGetIdsAndToolCallsFinish) {
  auto r = make_gemini(options())->decode(UpstreamResponse{
      200,
      {},
      R"({"candidates":[{"content":{"role":"model","parts":[)"
      R"({"text":"thinking it over","thought":true},)"
      R"({"functionCall":{"name":"weather","args":{"location":"Florence,Italy"}},"thoughtSignature":"CiQB"},)"
      R"({"functionCall":{"name":"time","args":{}}}]},"finishReason":"STOP","index":0}],)"
      R"("usageMetadata":{"promptTokenCount":54,"candidatesTokenCount":15,"thoughtsTokenCount":54,"totalTokenCount":123},)"
      R"("modelVersion":"gemini-2.5-flash","responseId":"r1"})"});
  ASSERT_TRUE(r.ok()) << r.error().message;
  const auto& choice = r->completion.at("choices").at(0);
  EXPECT_EQ(choice.at("finish_reason"), json::value("tool_calls"));
  EXPECT_EQ(
      choice.at("message"),
      json::parse(
          R"({"role":"assistant","content":null,"reasoning_content":"thinking it over",)"
          R"("tool_calls":[)"
          R"({"id":"call_r1_0__thought__CiQB","type":"function","function":{"name":"weather","arguments":"{\"location\":\"Florence,Italy\"}"}},)"
          R"({"id":"call_r1_1","type":"function","function":{"name":"time","arguments":"{}"}}],)"
          R"("refusal":null})"));
  EXPECT_EQ(r->usage.prompt_tokens, 54);
  EXPECT_EQ(r->usage.completion_tokens, 69);
  EXPECT_EQ(r->usage.total_tokens, 123);
}

TEST(GeminiDecode, FinishReasons) {
  auto finish = [](std::string_view reason) -> Result<std::string> {
    const std::string body =
        R"({"candidates":[{"content":{"role":"model","parts":[{"text":"x"}]},"finishReason":")" +
        std::string(reason) + R"("}],"responseId":"r"})";
    auto r = make_gemini(options())->decode(UpstreamResponse{200, {}, body});
    if (!r) return r.error();
    return std::string(r->completion.at("choices").at(0).at("finish_reason").as_string());
  };
  EXPECT_EQ(*finish("STOP"), "stop");
  EXPECT_EQ(*finish("OTHER"), "stop");
  EXPECT_EQ(*finish("MAX_TOKENS"), "length");
  EXPECT_EQ(*finish("SAFETY"), "content_filter");
  EXPECT_EQ(*finish("RECITATION"), "content_filter");
  EXPECT_EQ(*finish("PROHIBITED_CONTENT"), "content_filter");
  const auto malformed = finish("MALFORMED_FUNCTION_CALL");
  ASSERT_FALSE(malformed.ok());
  EXPECT_EQ(malformed.error().kind, ErrorKind::kUpstream);
  EXPECT_TRUE(malformed.error().retryable);
}

TEST(GeminiDecode, BlockedPromptIsContentFilter) {
  auto r = make_gemini(options())->decode(UpstreamResponse{
      200,
      {},
      R"({"promptFeedback":{"blockReason":"SAFETY"},"usageMetadata":{"promptTokenCount":8,"totalTokenCount":8}})"});
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->completion.at("choices").at(0).at("finish_reason"), json::value("content_filter"));
  EXPECT_EQ(r->text(), "");
}

// events end with CRLF CRLF; no end marker, the server closes the connection.
const std::string kStream =
    R"(data: {"candidates": [{"content": {"parts": [{"text": "The weather in Florence"}],"role": "model"},"index": 0}],"usageMetadata": {"promptTokenCount": 84,"candidatesTokenCount": 4,"totalTokenCount": 88},"modelVersion": "gemini-2.5-flash","responseId": "8QcJada"})"
    "\r\n\r\n"
    R"(data: {"candidates": [{"content": {"parts": [{"text": ", Italy is 40 C."}],"role": "model"},"finishReason": "STOP","index": 0}],"usageMetadata": {"promptTokenCount": 84,"candidatesTokenCount": 12,"totalTokenCount": 96},"modelVersion": "gemini-2.5-flash","responseId": "8QcJada"})"
    "\r\n\r\n";

testing::DecoderFactory gemini_decoder() {
  return [] { return make_gemini(options())->stream_decoder(); };
}

std::string chunk(std::string_view rest, std::string_view id = "8QcJada") {
  return R"({"id":")" + std::string(id) +
         R"(","object":"chat.completion.chunk","created":0,"model":"gemini-2.5-flash",)" +
         std::string(rest) + "}";
}

std::string delta(std::string_view d, std::string_view id = "8QcJada") {
  return chunk(R"("choices":[{"index":0,"delta":)" + std::string(d) + R"(,"finish_reason":null}])",
               id);
}

void expect_chunks(const Decoded& d, const std::vector<std::string>& want) {
  ASSERT_EQ(d.deltas.size(), want.size());
  for (std::size_t i = 0; i < want.size(); ++i) {
    EXPECT_EQ(json::parse(d.deltas[i].chunk_json), json::parse(want[i])) << "chunk " << i;
  }
}

TEST(GeminiStream, RecordedStreamBecomesOpenAiChunks) {
  const Decoded d = testing::expect_split_invariant(gemini_decoder(), kStream);
  ASSERT_FALSE(d.error) << d.error->message;
  EXPECT_TRUE(d.done);
  expect_chunks(
      d,
      {delta(R"({"role":"assistant","content":""})"),
       delta(R"({"content":"The weather in Florence"})"),
       delta(R"({"content":", Italy is 40 C."})"),
       chunk(R"("choices":[{"index":0,"delta":{},"finish_reason":"stop"}])"),
       chunk(
           R"("choices":[],"usage":{"prompt_tokens":84,"completion_tokens":12,"total_tokens":96})")});
  EXPECT_EQ(d.deltas[1].text + d.deltas[2].text, "The weather in Florence, Italy is 40 C.");
  EXPECT_EQ(d.deltas[3].finish_reason, "stop");
  ASSERT_TRUE(d.deltas[4].usage);
  EXPECT_EQ(d.deltas[4].usage->total_tokens, 96);
}

TEST(GeminiStream, WholeFunctionCallBecomesOneToolCallDelta) {
  const std::string bytes =
      R"(data: {"candidates":[{"content":{"parts":[{"functionCall":{"name":"weather","args":{"location":"Florence,Italy"}},"thoughtSignature":"CiQB"}],"role":"model"},"finishReason":"STOP","index":0}],"usageMetadata":{"promptTokenCount":54,"candidatesTokenCount":15,"thoughtsTokenCount":54,"totalTokenCount":123},"modelVersion":"gemini-2.5-flash","responseId":"r2"})"
      "\r\n\r\n";
  const Decoded d = testing::expect_split_invariant(gemini_decoder(), bytes);
  ASSERT_FALSE(d.error) << d.error->message;
  expect_chunks(
      d,
      {delta(R"({"role":"assistant","content":""})", "r2"),
       delta(
           R"({"tool_calls":[{"index":0,"id":"call_r2_0__thought__CiQB","type":"function","function":{"name":"weather","arguments":"{\"location\":\"Florence,Italy\"}"}}]})",
           "r2"),
       chunk(R"("choices":[{"index":0,"delta":{},"finish_reason":"tool_calls"}])", "r2"),
       chunk(
           R"("choices":[],"usage":{"prompt_tokens":54,"completion_tokens":69,"total_tokens":123})",
           "r2")});
}

TEST(GeminiStream, UsageAfterTheFinishChunkIsTheLastOne) {
  const Decoded d = testing::expect_split_invariant(
      gemini_decoder(),
      kStream +
          R"(data: {"candidates":[{"content":{"parts":[{"text":""}],"role":"model"},"index":0}],"usageMetadata":{"promptTokenCount":84,"candidatesTokenCount":13,"totalTokenCount":97},"responseId":"8QcJada"})"
          "\r\n\r\n");
  ASSERT_FALSE(d.error);
  ASSERT_EQ(d.deltas.size(), 5u);
  EXPECT_EQ(d.deltas[4].usage->total_tokens, 97);
}

TEST(GeminiStream, CutStreamWithoutFinishReasonIsAnError) {
  const std::string cut = kStream.substr(0, kStream.find("\r\n\r\n") + 4);
  const Decoded d = testing::expect_split_invariant(gemini_decoder(), cut);
  ASSERT_TRUE(d.error);
  EXPECT_FALSE(d.done);
  EXPECT_EQ(d.error->message, "upstream stream ended before a chunk with a finishReason");
  EXPECT_EQ(d.error->kind, ErrorKind::kUpstream);
  EXPECT_TRUE(d.error->retryable);
  EXPECT_EQ(d.error->source, "upstream:gemini");
  EXPECT_EQ(d.deltas.size(), 2u);
  // The final chunk cut in half is the same cut stream.
  const Decoded half =
      testing::decode_whole(gemini_decoder(), cut + R"(data: {"candidates": [{"content": {"par)");
  ASSERT_TRUE(half.error);
  EXPECT_EQ(half.error->message, "upstream stream ended before a chunk with a finishReason");
}

TEST(GeminiStream, ErrorInsideTheStreamIsClassified) {
  const std::string bytes =
      kStream.substr(0, kStream.find("\r\n\r\n") + 4) +
      R"(data: {"error":{"code":503,"message":"The model is overloaded.","status":"UNAVAILABLE"}})"
      "\r\n\r\n";
  const Decoded d = testing::expect_split_invariant(gemini_decoder(), bytes);
  ASSERT_TRUE(d.error);
  EXPECT_EQ(d.deltas.size(), 2u);
  EXPECT_EQ(d.error->kind, ErrorKind::kUpstream);
  EXPECT_EQ(d.error->code, "upstream_overloaded");
  EXPECT_TRUE(d.error->retryable);
  EXPECT_EQ(d.error->key_action, KeyAction::kNone);
  EXPECT_EQ(d.error->message,
            "upstream gemini reported an error (UNAVAILABLE): The model is overloaded.");
}

TEST(GeminiStream, MalformedFunctionCallEndsTheStreamWithAnError) {
  const Decoded d = testing::decode_whole(
      gemini_decoder(),
      R"(data: {"candidates":[{"content":{"parts":[{"text":""}],"role":"model"},"finishReason":"MALFORMED_FUNCTION_CALL","index":0}],"responseId":"r"})"
      "\r\n\r\n");
  ASSERT_TRUE(d.error);
  EXPECT_EQ(d.error->kind, ErrorKind::kUpstream);
  EXPECT_TRUE(d.error->retryable);
}

constexpr std::string_view kPerMinute = R"({"error":{"code":429,
  "message":"You exceeded your current quota, please check your plan and billing details. Please retry in 46.2s.",
  "status":"RESOURCE_EXHAUSTED","details":[
  {"@type":"type.googleapis.com/google.rpc.QuotaFailure","violations":[{"quotaMetric":"generativelanguage.googleapis.com/generate_content_free_tier_requests","quotaId":"GenerateRequestsPerMinutePerProjectPerModel-FreeTier","quotaDimensions":{"location":"global","model":"gemini-2.5-flash"},"quotaValue":"10"}]},
  {"@type":"type.googleapis.com/google.rpc.Help","links":[{"description":"Learn more about Gemini API quotas","url":"https://ai.google.dev/gemini-api/docs/rate-limits"}]},
  {"@type":"type.googleapis.com/google.rpc.RetryInfo","retryDelay":"46s"}]}})";

Error classify(int status, std::string_view body, Headers headers = {}) {
  return make_gemini(options())->classify(status, headers, body);
}

TEST(GeminiClassify, ResourceExhaustedCoolsTheKeyForTheRetryDelay) {
  const Error e = classify(429, kPerMinute);
  EXPECT_EQ(e.kind, ErrorKind::kRateLimited);
  EXPECT_TRUE(e.retryable);
  EXPECT_EQ(e.key_action, KeyAction::kCooldown);
  EXPECT_EQ(e.cooldown, milliseconds(46'000));
  EXPECT_EQ(e.source, "upstream:gemini");
  EXPECT_NE(e.message.find("RESOURCE_EXHAUSTED"), std::string::npos);

  // Without RetryInfo, the "retry in" phrase; without either, 30 s.
  std::string phrase_only(kPerMinute);
  phrase_only.replace(phrase_only.find("\"46s\""), 5, "\"\"");
  EXPECT_EQ(classify(429, phrase_only).cooldown, milliseconds(46'200));
  EXPECT_EQ(
      classify(429, R"({"error":{"code":429,"message":"slow","status":"RESOURCE_EXHAUSTED"}})")
          .cooldown,
      milliseconds(30'000));
}

TEST(GeminiClassify, DailyQuotaCoolsUntilMidnightPacific) {
  std::string daily(kPerMinute);
  daily.replace(daily.find("PerMinute"), 9, "PerDay");
  // 07:00 UTC: one hour before 08:00 UTC (midnight PST).
  EXPECT_EQ(classify(429, daily, {{"Date", "Tue, 07 Oct 2025 07:00:00 GMT"}}).cooldown,
            std::chrono::hours(1));
  const Error e = classify(429, daily, {{"Date", "Tue, 07 Oct 2025 09:00:00 GMT"}});
  EXPECT_EQ(e.cooldown, std::chrono::hours(23));
  EXPECT_EQ(e.code, "daily_quota_exceeded");
  EXPECT_EQ(e.key_action, KeyAction::kCooldown);
}

TEST(GeminiClassify, ZeroQuotaDisablesTheKey) {
  std::string zero(kPerMinute);
  zero.replace(zero.find(R"("quotaValue":"10")"), 17, R"("quotaValue":"0")");
  const Error e = classify(429, zero);
  EXPECT_EQ(e.key_action, KeyAction::kDisable);
  EXPECT_TRUE(e.retryable);
}

TEST(GeminiClassify, InvalidArgumentFailsButABadKeyIsDisabled) {
  const Error bad = classify(
      400,
      R"({"error":{"code":400,"message":"Invalid JSON payload","status":"INVALID_ARGUMENT"}})");
  EXPECT_EQ(bad.kind, ErrorKind::kInvalidRequest);
  EXPECT_FALSE(bad.retryable);
  EXPECT_EQ(bad.key_action, KeyAction::kNone);

  const Error key = classify(
      400,
      R"({"error":{"code":400,"message":"API key not valid. Please pass a valid API key.","status":"INVALID_ARGUMENT",)"
      R"("details":[{"@type":"type.googleapis.com/google.rpc.ErrorInfo","reason":"API_KEY_INVALID","domain":"googleapis.com"}]}})");
  EXPECT_EQ(key.kind, ErrorKind::kAuthentication);
  EXPECT_EQ(key.key_action, KeyAction::kDisable);
  EXPECT_TRUE(key.retryable);
  EXPECT_EQ(key.message.rfind("upstream gemini answered HTTP 400", 0), 0u);
}

TEST(GeminiClassify, PermissionAndPreconditionDisableTheKey) {
  const Error denied =
      classify(403, R"({"error":{"code":403,"message":"denied","status":"PERMISSION_DENIED"}})");
  EXPECT_EQ(denied.key_action, KeyAction::kDisable);
  EXPECT_TRUE(denied.retryable);
  const Error region = classify(
      400,
      R"({"error":{"code":400,"message":"User location is not supported","status":"FAILED_PRECONDITION"}})");
  EXPECT_EQ(region.key_action, KeyAction::kDisable);
  EXPECT_TRUE(region.retryable);
}

TEST(GeminiClassify, ServerErrorsAreRetriedAndUnknownModelsFail) {
  const Error unavailable =
      classify(503, R"({"error":{"code":503,"message":"overloaded","status":"UNAVAILABLE"}})");
  EXPECT_EQ(unavailable.kind, ErrorKind::kUpstream);
  EXPECT_TRUE(unavailable.retryable);
  EXPECT_EQ(unavailable.key_action, KeyAction::kNone);
  const Error missing = classify(
      404, R"({"error":{"code":404,"message":"models/x is not found","status":"NOT_FOUND"}})");
  EXPECT_EQ(missing.kind, ErrorKind::kInvalidRequest);
  EXPECT_FALSE(missing.retryable);
  EXPECT_EQ(classify(502, "<html>bad gateway</html>").kind, ErrorKind::kUpstream);
}

}  // namespace
}  // namespace bc::providers
