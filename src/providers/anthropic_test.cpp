// Anthropic's Messages format: requests encoded, answers decoded, streams read as OpenAI chunks.
#include "providers/anthropic.h"

#include <gtest/gtest.h>
#include <boost/json.hpp>

#include "providers/stream_testing.h"
#include "providers/upstream_error.h"

namespace bc::providers {
namespace {

namespace json = boost::json;
using testing::Decoded;

ChatRequest request(std::string_view body) {
  auto r = ChatRequest::parse(body);
  EXPECT_TRUE(r.ok()) << r.error().message;
  return std::move(r).value();
}

ProviderOptions options(bool tools = true) {
  ProviderOptions o;
  o.model_name = "claude";
  o.upstream_model = "claude-sonnet-4-20250514";
  o.supports_tools = tools;
  return o;
}

const Credential kKey{"sk-ant-api03-0123456789abcdefABCDEF", "claude-1"};

json::value encode(std::string_view body, ProviderOptions o = options()) {
  auto r = make_anthropic(o)->encode(request(body), kKey);
  EXPECT_TRUE(r.ok()) << r.error().message;
  return r.ok() ? json::parse(r->body) : json::value();
}

TEST(AnthropicEncode, GoldenRequestWithSystemToolsAndToolResults) {
  ProviderOptions o = options();
  o.default_temperature = 0.7;
  auto r = make_anthropic(o)->encode(
      request(
          R"({"model":"claude","stream":true,"stop":"END","user":"u-42","parallel_tool_calls":false,)"
          R"("messages":[)"
          R"({"role":"system","content":"Be brief."},)"
          R"({"role":"developer","content":[{"type":"text","text":"Use metric units."}]},)"
          R"({"role":"user","content":"Weather in Florence and Rome?"},)"
          R"({"role":"assistant","content":"Checking.","tool_calls":[)"
          R"({"id":"toolu_1","type":"function","function":{"name":"weather","arguments":"{\"city\":\"Florence\"}"}},)"
          R"({"id":"toolu_2","type":"function","function":{"name":"weather","arguments":"{\"city\":\"Rome\"}"}}]},)"
          R"({"role":"tool","tool_call_id":"toolu_1","content":"31 C"},)"
          R"({"role":"tool","tool_call_id":"toolu_2","content":[{"type":"text","text":"29 C"}]},)"
          R"({"role":"user","content":"Thanks. Which is warmer?"}],)"
          R"("tools":[{"type":"function","function":{"name":"weather","description":"Current weather",)"
          R"("parameters":{"type":"object","properties":{"city":{"type":"string"}},"required":["city"]}}},)"
          R"({"type":"function","function":{"name":"now"}}],)"
          R"("tool_choice":"required"})"),
      kKey);
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->method, "POST");
  EXPECT_EQ(r->url, "https://api.anthropic.com/v1/messages");
  EXPECT_EQ(find_header(r->headers, "x-api-key"), kKey.secret);
  EXPECT_EQ(find_header(r->headers, "anthropic-version"), "2023-06-01");
  EXPECT_EQ(find_header(r->headers, "content-type"), "application/json");
  EXPECT_FALSE(find_header(r->headers, "authorization"));
  EXPECT_TRUE(r->stream);
  EXPECT_EQ(
      json::parse(r->body),
      json::parse(
          R"({"model":"claude-sonnet-4-20250514","max_tokens":4096,)"
          R"("system":"Be brief.\n\nUse metric units.",)"
          R"("messages":[)"
          R"({"role":"user","content":"Weather in Florence and Rome?"},)"
          R"({"role":"assistant","content":[{"type":"text","text":"Checking."},)"
          R"({"type":"tool_use","id":"toolu_1","name":"weather","input":{"city":"Florence"}},)"
          R"({"type":"tool_use","id":"toolu_2","name":"weather","input":{"city":"Rome"}}]},)"
          R"({"role":"user","content":[)"
          R"({"type":"tool_result","tool_use_id":"toolu_1","content":"31 C"},)"
          R"({"type":"tool_result","tool_use_id":"toolu_2","content":"29 C"},)"
          R"({"type":"text","text":"Thanks. Which is warmer?"}]}],)"
          R"("temperature":0.7,"stop_sequences":["END"],"metadata":{"user_id":"u-42"},"stream":true,)"
          R"("tools":[{"name":"weather","description":"Current weather",)"
          R"("input_schema":{"type":"object","properties":{"city":{"type":"string"}},"required":["city"]}},)"
          R"({"name":"now","input_schema":{"type":"object","properties":{}}}],)"
          R"("tool_choice":{"type":"any","disable_parallel_tool_use":true}})"));
}

TEST(AnthropicEncode, MaxTokensIsAlwaysSent) {
  EXPECT_EQ(encode(R"({"messages":[{"role":"user","content":"x"}]})").at("max_tokens"),
            json::value(4096));
  EXPECT_EQ(
      encode(R"({"messages":[{"role":"user","content":"x"}],"max_tokens":77})").at("max_tokens"),
      json::value(77));
  EXPECT_EQ(encode(R"({"messages":[{"role":"user","content":"x"}],"max_tokens":77,)"
                   R"("max_completion_tokens":88})")
                .at("max_tokens"),
            json::value(88));
}

TEST(AnthropicEncode, CallerTemperatureWinsAndIsClampedToOne) {
  ProviderOptions o = options();
  o.default_temperature = 0.2;
  EXPECT_EQ(encode(R"({"messages":[{"role":"user","content":"x"}],"temperature":0.5})", o)
                .at("temperature"),
            json::value(0.5));
  EXPECT_EQ(encode(R"({"messages":[{"role":"user","content":"x"}],"temperature":1.8})", o)
                .at("temperature"),
            json::value(1.0));
  EXPECT_FALSE(encode(R"({"messages":[{"role":"user","content":"x"}]})")
                   .as_object()
                   .contains("temperature"));
}

TEST(AnthropicEncode, ToolChoiceMapping) {
  const std::string head =
      R"({"messages":[{"role":"user","content":"x"}],"tools":[{"type":"function","function":{"name":"f"}}])";
  EXPECT_EQ(encode(head + R"(,"tool_choice":"auto"})").at("tool_choice"),
            json::parse(R"({"type":"auto"})"));
  EXPECT_EQ(encode(head + R"(,"tool_choice":"none"})").at("tool_choice"),
            json::parse(R"({"type":"none"})"));
  EXPECT_EQ(encode(head + R"(,"tool_choice":{"type":"function","function":{"name":"f"}}})")
                .at("tool_choice"),
            json::parse(R"({"type":"tool","name":"f"})"));
  EXPECT_FALSE(encode(head + "}").as_object().contains("tool_choice"));
}

TEST(AnthropicEncode, ToolsDroppedWhenTheModelHasNone) {
  const auto body = encode(
      R"({"messages":[{"role":"user","content":"x"}],"tools":[{"type":"function","function":{"name":"f"}}],"tool_choice":"auto"})",
      options(false));
  EXPECT_FALSE(body.as_object().contains("tools"));
  EXPECT_FALSE(body.as_object().contains("tool_choice"));
}

TEST(AnthropicEncode, ImagesBecomeImageBlocks) {
  const auto body =
      encode(R"({"messages":[{"role":"user","content":[{"type":"text","text":"What is this?"},)"
             R"({"type":"image_url","image_url":{"url":"data:image/png;base64,iVBORw0KGgo="}},)"
             R"({"type":"image_url","image_url":{"url":"https://example.com/cat.jpg"}}]}]})");
  EXPECT_EQ(
      body.at("messages").at(0).at("content"),
      json::parse(
          R"([{"type":"text","text":"What is this?"},)"
          R"({"type":"image","source":{"type":"base64","media_type":"image/png","data":"iVBORw0KGgo="}},)"
          R"({"type":"image","source":{"type":"url","url":"https://example.com/cat.jpg"}}])"));
}

TEST(AnthropicEncode, InvalidToolArgumentsAreTheCallersError) {
  auto r = make_anthropic(options())->encode(
      request(R"({"messages":[{"role":"user","content":"x"},{"role":"assistant","tool_calls":[)"
              R"({"id":"t","type":"function","function":{"name":"f","arguments":"{oops"}}]}]})"),
      kKey);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().kind, ErrorKind::kInvalidRequest);
  EXPECT_EQ(r.error().code, "invalid_tool_arguments");
  EXPECT_FALSE(r.error().retryable);
}

TEST(AnthropicEncode, CustomBaseUrl) {
  ProviderOptions o = options();
  o.base_url = "http://127.0.0.1:9000/v1/";
  auto r =
      make_anthropic(o)->encode(request(R"({"messages":[{"role":"user","content":"x"}]})"), kKey);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->url, "http://127.0.0.1:9000/v1/messages");
  EXPECT_FALSE(r->stream);
  EXPECT_FALSE(json::parse(r->body).as_object().contains("stream"));
}

// A non-streamed Messages answer.
constexpr std::string_view kMessage = R"({
  "id": "msg_01XFDUDYJgAACzvnptvVoYEL", "type": "message", "role": "assistant",
  "model": "claude-sonnet-4-20250514",
  "content": [
    {"type": "text", "text": "I'll check the weather."},
    {"type": "tool_use", "id": "toolu_01TQLW", "name": "weather", "input": {"location": "Florence, Italy"}}
  ],
  "stop_reason": "tool_use", "stop_sequence": null,
  "usage": {"input_tokens": 394, "output_tokens": 66,
            "cache_creation_input_tokens": 10, "cache_read_input_tokens": 20}})";

TEST(AnthropicDecode, TextToolCallsAndUsage) {
  auto r = make_anthropic(options())->decode(UpstreamResponse{200, {}, std::string(kMessage)});
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(
      json::value(r->completion),
      json::parse(
          R"({"id":"msg_01XFDUDYJgAACzvnptvVoYEL","object":"chat.completion","created":0,)"
          R"("model":"claude-sonnet-4-20250514","choices":[{"index":0,"message":{)"
          R"("role":"assistant","content":"I'll check the weather.","tool_calls":[)"
          R"({"id":"toolu_01TQLW","type":"function","function":{"name":"weather",)"
          R"("arguments":"{\"location\":\"Florence, Italy\"}"}}],"refusal":null},"logprobs":null,)"
          R"("finish_reason":"tool_calls"}],)"
          R"("usage":{"prompt_tokens":424,"completion_tokens":66,"total_tokens":490}})"));
  EXPECT_EQ(r->usage.prompt_tokens, 424);
  EXPECT_EQ(r->usage.completion_tokens, 66);
  EXPECT_EQ(r->usage.total_tokens, 490);
}

TEST(AnthropicDecode, FinishReasons) {
  auto finish = [](std::string_view stop_reason) {
    const std::string body =
        R"({"id":"m","type":"message","role":"assistant","model":"c","content":[{"type":"text","text":"hi"}],)"
        R"("stop_reason":")" +
        std::string(stop_reason) + R"(","usage":{"input_tokens":1,"output_tokens":1}})";
    auto r = make_anthropic(options())->decode(UpstreamResponse{200, {}, body});
    EXPECT_TRUE(r.ok());
    return std::string(r->completion.at("choices").at(0).at("finish_reason").as_string());
  };
  EXPECT_EQ(finish("end_turn"), "stop");
  EXPECT_EQ(finish("stop_sequence"), "stop");
  EXPECT_EQ(finish("pause_turn"), "stop");
  EXPECT_EQ(finish("max_tokens"), "length");
  EXPECT_EQ(finish("tool_use"), "tool_calls");
  EXPECT_EQ(finish("refusal"), "content_filter");
}

TEST(AnthropicDecode, ThinkingBecomesReasoningContent) {
  auto r = make_anthropic(options())->decode(UpstreamResponse{
      200,
      {},
      R"({"id":"m","type":"message","model":"c","content":[{"type":"thinking","thinking":"Hmm.","signature":"s"},)"
      R"({"type":"text","text":"42"}],"stop_reason":"end_turn","usage":{"input_tokens":3,"output_tokens":9}})"});
  ASSERT_TRUE(r.ok());
  const auto& message = r->completion.at("choices").at(0).at("message");
  EXPECT_EQ(message.at("content"), json::value("42"));
  EXPECT_EQ(message.at("reasoning_content"), json::value("Hmm."));
}

TEST(AnthropicDecode, ErrorBodyIsClassified) {
  auto r = make_anthropic(options())->decode(UpstreamResponse{
      200, {}, R"({"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}})"});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().kind, ErrorKind::kUpstream);
  EXPECT_TRUE(r.error().retryable);
  EXPECT_EQ(r.error().source, "upstream:anthropic");
  auto garbage = make_anthropic(options())->decode(UpstreamResponse{200, {}, "<html>"});
  ASSERT_FALSE(garbage.ok());
  EXPECT_EQ(garbage.error().kind, ErrorKind::kUpstream);
}

// as recorded: a ping in the middle, extra spaces inside the JSON.
const std::string kStream =
    "event: message_start\n"
    R"(data: {"type":"message_start","message":{"id":"msg_01YN","type":"message","role":"assistant","model":"claude-sonnet-4-20250514","content":[],"stop_reason":null,"stop_sequence":null,"usage":{"input_tokens":394,"cache_creation_input_tokens":0,"cache_read_input_tokens":0,"output_tokens":8}}})"
    "\n\n"
    "event: content_block_start\n"
    R"(data: {"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}})"
    "\n\n"
    "event: content_block_delta\n"
    R"(data: {"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"I'll check the weather."}})"
    "\n\n"
    "event: ping\n"
    R"(data: {"type": "ping"})"
    "\n\n"
    "event: content_block_stop\n"
    R"(data: {"type":"content_block_stop","index":0 })"
    "\n\n"
    "event: content_block_start\n"
    R"(data: {"type":"content_block_start","index":1,"content_block":{"type":"tool_use","id":"toolu_01TQ","name":"weather","input":{}}})"
    "\n\n"
    "event: content_block_delta\n"
    R"(data: {"type":"content_block_delta","index":1,"delta":{"type":"input_json_delta","partial_json":""}})"
    "\n\n"
    "event: content_block_delta\n"
    R"(data: {"type":"content_block_delta","index":1,"delta":{"type":"input_json_delta","partial_json":"{\"location\": \"Flor"}})"
    "\n\n"
    "event: content_block_delta\n"
    R"(data: {"type":"content_block_delta","index":1,"delta":{"type":"input_json_delta","partial_json":"ence\"}"}})"
    "\n\n"
    "event: content_block_stop\n"
    R"(data: {"type":"content_block_stop","index":1})"
    "\n\n"
    "event: message_delta\n"
    R"(data: {"type":"message_delta","delta":{"stop_reason":"tool_use","stop_sequence":null},"usage":{"output_tokens":66}})"
    "\n\n"
    "event: message_stop\n"
    R"(data: {"type":"message_stop"})"
    "\n\n";

testing::DecoderFactory anthropic_decoder() {
  return [] { return make_anthropic(options())->stream_decoder(); };
}

std::string chunk(std::string_view choices_or_usage) {
  return R"({"id":"msg_01YN","object":"chat.completion.chunk","created":0,"model":"claude-sonnet-4-20250514",)" +
         std::string(choices_or_usage) + "}";
}

std::string delta(std::string_view d) {
  return chunk(R"("choices":[{"index":0,"delta":)" + std::string(d) + R"(,"finish_reason":null}])");
}

TEST(AnthropicStream, RecordedStreamBecomesOpenAiChunks) {
  const Decoded d = testing::expect_split_invariant(anthropic_decoder(), kStream);
  ASSERT_FALSE(d.error) << d.error->message;
  EXPECT_TRUE(d.done);
  const std::vector<std::string> want = {
      delta(R"({"role":"assistant","content":""})"),
      delta(R"({"content":"I'll check the weather."})"),
      delta(
          R"({"tool_calls":[{"index":0,"id":"toolu_01TQ","type":"function","function":{"name":"weather","arguments":""}}]})"),
      delta(R"({"tool_calls":[{"index":0,"function":{"arguments":"{\"location\": \"Flor"}}]})"),
      delta(R"({"tool_calls":[{"index":0,"function":{"arguments":"ence\"}"}}]})"),
      chunk(R"("choices":[{"index":0,"delta":{},"finish_reason":"tool_calls"}])"),
      chunk(
          R"("choices":[],"usage":{"prompt_tokens":394,"completion_tokens":66,"total_tokens":460})"),
  };
  ASSERT_EQ(d.deltas.size(), want.size());
  for (std::size_t i = 0; i < want.size(); ++i) {
    EXPECT_EQ(json::parse(d.deltas[i].chunk_json), json::parse(want[i])) << "chunk " << i;
  }
  EXPECT_EQ(d.deltas[1].text, "I'll check the weather.");
  EXPECT_EQ(d.deltas[5].finish_reason, "tool_calls");
  ASSERT_TRUE(d.deltas[6].usage);
  EXPECT_EQ(d.deltas[6].usage->total_tokens, 460);

  // What a client reassembles from the fragments parses as the tool's input.
  std::string arguments;
  for (const auto& c : d.deltas) {
    const json::value parsed = json::parse(c.chunk_json);
    const auto& choices = parsed.at("choices").as_array();
    if (choices.empty()) continue;
    const auto* calls = choices[0].at("delta").as_object().if_contains("tool_calls");
    if (calls != nullptr) arguments += calls->at(0).at("function").at("arguments").as_string();
  }
  EXPECT_EQ(json::parse(arguments), json::parse(R"({"location":"Florence"})"));
}

TEST(AnthropicStream, ToolWithoutInputGetsEmptyObjectArguments) {
  const std::string bytes =
      R"(event: message_start
data: {"type":"message_start","message":{"id":"m","model":"c","usage":{"input_tokens":5,"output_tokens":1}}}

event: content_block_start
data: {"type":"content_block_start","index":0,"content_block":{"type":"tool_use","id":"toolu_9","name":"now","input":{}}}

event: content_block_stop
data: {"type":"content_block_stop","index":0}

event: message_delta
data: {"type":"message_delta","delta":{"stop_reason":"tool_use"},"usage":{"output_tokens":12}}

event: message_stop
data: {"type":"message_stop"}

)";
  const Decoded d = testing::expect_split_invariant(anthropic_decoder(), bytes);
  ASSERT_FALSE(d.error);
  ASSERT_EQ(d.deltas.size(), 5u);
  EXPECT_EQ(json::parse(d.deltas[2].chunk_json).at("choices").at(0).at("delta"),
            json::parse(R"({"tool_calls":[{"index":0,"function":{"arguments":"{}"}}]})"));
  EXPECT_EQ(d.deltas[4].usage->prompt_tokens, 5);
  EXPECT_EQ(d.deltas[4].usage->completion_tokens, 12);
}

TEST(AnthropicStream, ThinkingDeltasBecomeReasoningContent) {
  const std::string bytes =
      R"(event: message_start
data: {"type":"message_start","message":{"id":"m","model":"c","usage":{"input_tokens":5,"output_tokens":1}}}

event: content_block_start
data: {"type":"content_block_start","index":0,"content_block":{"type":"thinking","thinking":""}}

event: content_block_delta
data: {"type":"content_block_delta","index":0,"delta":{"type":"thinking_delta","thinking":"Let me see."}}

event: content_block_delta
data: {"type":"content_block_delta","index":0,"delta":{"type":"signature_delta","signature":"EqQB"}}

event: message_delta
data: {"type":"message_delta","delta":{"stop_reason":"end_turn"},"usage":{"output_tokens":7}}

event: message_stop
data: {"type":"message_stop"}

)";
  const Decoded d = testing::expect_split_invariant(anthropic_decoder(), bytes);
  ASSERT_FALSE(d.error);
  ASSERT_EQ(d.deltas.size(), 4u);
  EXPECT_EQ(json::parse(d.deltas[1].chunk_json).at("choices").at(0).at("delta"),
            json::parse(R"({"reasoning_content":"Let me see."})"));
  EXPECT_EQ(d.deltas[1].text, "");
  EXPECT_EQ(d.deltas[2].finish_reason, "stop");
}

TEST(AnthropicStream, OverloadedErrorInsideTheStream) {
  const std::string bytes =
      kStream.substr(0, kStream.find("event: ping")) +
      "event: error\n"
      R"(data: {"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}})"
      "\n\n";
  const Decoded d = testing::expect_split_invariant(anthropic_decoder(), bytes);
  ASSERT_TRUE(d.error);
  EXPECT_EQ(d.deltas.size(), 2u);  // role and text, still valid
  EXPECT_EQ(d.error->kind, ErrorKind::kUpstream);
  EXPECT_EQ(d.error->code, "upstream_overloaded");
  EXPECT_TRUE(d.error->retryable);
  EXPECT_EQ(d.error->key_action, KeyAction::kNone);
  EXPECT_EQ(d.error->source, "upstream:anthropic");
  EXPECT_EQ(d.error->message, "upstream anthropic reported an error: Overloaded");
}

TEST(AnthropicStream, RateLimitErrorInsideTheStreamCoolsTheKey) {
  const Decoded d = testing::decode_whole(
      anthropic_decoder(),
      "event: error\n"
      R"(data: {"type":"error","error":{"type":"rate_limit_error","message":"slow down"}})"
      "\n\n");
  ASSERT_TRUE(d.error);
  EXPECT_EQ(d.error->kind, ErrorKind::kRateLimited);
  EXPECT_EQ(d.error->key_action, KeyAction::kCooldown);
}

TEST(AnthropicStream, CutStreamIsAnError) {
  const std::string cut = kStream.substr(0, kStream.find("event: message_delta"));
  const Decoded d = testing::expect_split_invariant(anthropic_decoder(), cut);
  ASSERT_TRUE(d.error);
  EXPECT_FALSE(d.done);
  EXPECT_EQ(d.error->message, "upstream stream ended before message_stop");
  EXPECT_EQ(d.error->kind, ErrorKind::kUpstream);
  EXPECT_TRUE(d.error->retryable);
  EXPECT_EQ(d.error->source, "upstream:anthropic");
  EXPECT_EQ(d.deltas.size(), 5u);

  // A last event cut in the middle of its JSON is the same cut stream.
  const Decoded half = testing::decode_whole(anthropic_decoder(),
                                             cut + "event: message_delta\ndata: {\"type\":\"mess");
  ASSERT_TRUE(half.error);
  EXPECT_EQ(half.error->message, "upstream stream ended before message_stop");
}

TEST(AnthropicStream, BytesAfterMessageStopAreIgnored) {
  const Decoded d = testing::expect_split_invariant(anthropic_decoder(),
                                                    kStream + "event: ping\ndata: {oops}\n\n");
  ASSERT_FALSE(d.error);
  EXPECT_TRUE(d.done);
  EXPECT_EQ(d.deltas.size(), 7u);
}

}  // namespace
}  // namespace bc::providers
