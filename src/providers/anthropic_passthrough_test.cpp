// The `anthropic` adapter passing a Messages API caller's request through: the body sent as it
// came (model aside), the answer and the events relayed as they are (model aside), usage,
// stop reasons and errors read on the way.
#include <gtest/gtest.h>
#include <boost/json.hpp>

#include "providers/anthropic.h"
#include "providers/anthropic_messages.h"
#include "providers/stream_testing.h"

namespace bc::providers {
namespace {

namespace json = boost::json;
using testing::Decoded;

ProviderOptions options() {
  ProviderOptions o;
  o.model_name = "claude";
  o.upstream_model = "claude-sonnet-4-20250514";
  o.base_url = "http://127.0.0.1:9/v1";
  o.supports_tools = true;
  return o;
}

const Credential kKey{"sk-ant-api03-0123456789abcdefABCDEF", "claude-1"};

// What the Messages API translation drops or has no word for: a thinking config, top-level
// fields it does not know, a block type it does not know, cache_control.
constexpr std::string_view kBody = R"({"model":"claude","max_tokens":64,"top_k":5,
  "metadata":{"user_id":"u-1"},"thinking":{"type":"enabled","budget_tokens":1024},
  "service_tier":"auto","system":[{"type":"text","text":"Be brief.",
  "cache_control":{"type":"ephemeral"}}],
  "messages":[{"role":"user","content":[{"type":"text","text":"Hi"}]}]})";

ChatRequest messages_request(std::string_view body, MessagesCall call = MessagesCall::kCreate) {
  auto r = parse_messages_request(body, call);
  EXPECT_TRUE(r.ok()) << r.error().message;
  return std::move(r).value();
}

TEST(AnthropicPassthrough, SendsTheCallersBodyWithTheUpstreamModel) {
  auto request = messages_request(kBody);
  request.messages->version = "2023-06-01";
  request.messages->beta = "interleaved-thinking-2025-05-14";
  auto encoded = make_anthropic(options())->encode(request, kKey);
  ASSERT_TRUE(encoded.ok()) << encoded.error().message;
  EXPECT_EQ(encoded->url, "http://127.0.0.1:9/v1/messages");
  auto want = json::parse(kBody).as_object();
  want["model"] = "claude-sonnet-4-20250514";
  EXPECT_EQ(json::parse(encoded->body), json::value(want));
  auto header = [&](std::string_view name) {
    for (const auto& h : encoded->headers) {
      if (h.name == name) return h.value;
    }
    return std::string("(none)");
  };
  EXPECT_EQ(header("x-api-key"), kKey.secret);
  EXPECT_EQ(header("anthropic-version"), "2023-06-01");
  EXPECT_EQ(header("anthropic-beta"), "interleaved-thinking-2025-05-14");
}

TEST(AnthropicPassthrough, UnknownBlockTypesPassThroughAsTheyCame) {
  // The translation has no word for a document block; passed through, the upstream judges it.
  constexpr std::string_view body = R"({"model":"claude","max_tokens":8,"messages":[
    {"role":"user","content":[{"type":"text","text":"Sum it up"}]}]})";
  auto request = messages_request(body);
  auto& content =
      request.messages->body["messages"].as_array()[0].as_object()["content"].as_array();
  content.push_back(json::object{{"type", "document"}, {"title", "t"}});
  auto encoded = make_anthropic(options())->encode(request, kKey);
  ASSERT_TRUE(encoded.ok());
  EXPECT_NE(encoded->body.find(R"("type":"document")"), std::string::npos);
}

TEST(AnthropicPassthrough, VersionDefaultsWhenTheCallerSentNone) {
  auto encoded = make_anthropic(options())->encode(messages_request(kBody), kKey);
  ASSERT_TRUE(encoded.ok());
  bool beta = false;
  for (const auto& h : encoded->headers) {
    if (h.name == "anthropic-version") {
      EXPECT_EQ(h.value, kAnthropicVersion);
    }
    beta = beta || h.name == "anthropic-beta";
  }
  EXPECT_FALSE(beta);
}

TEST(AnthropicPassthrough, CountTokensGoesToTheUpstreamsCounter) {
  auto request =
      messages_request(R"({"model":"claude","messages":[{"role":"user","content":"Hi"}]})",
                       MessagesCall::kCountTokens);
  const auto provider = make_anthropic(options());
  EXPECT_TRUE(provider->speaks_messages_api());
  auto encoded = provider->encode(request, kKey);
  ASSERT_TRUE(encoded.ok());
  EXPECT_EQ(encoded->url, "http://127.0.0.1:9/v1/messages/count_tokens");
  EXPECT_FALSE(encoded->stream);

  auto answer = provider->decode_for(request, {200, {}, R"({"input_tokens":42})"});
  ASSERT_TRUE(answer.ok()) << answer.error().message;
  EXPECT_EQ(answer->message_json, R"({"input_tokens":42})");
  EXPECT_EQ(answer->usage.total_tokens, 0);
  EXPECT_FALSE(provider->decode_for(request, {200, {}, R"({"tokens":42})"}).ok());
}

TEST(AnthropicPassthrough, AnswerKeepsEverythingButTheModelName) {
  const auto provider = make_anthropic(options());
  const auto request = messages_request(kBody);
  constexpr std::string_view body =
      R"({"id":"msg_01","type":"message","role":"assistant","model":"claude-sonnet-4-20250514",)"
      R"("content":[{"type":"thinking","thinking":"hm","signature":"sig"},)"
      R"({"type":"text","text":"Hello"}],"stop_reason":"end_turn","stop_sequence":null,)"
      R"("container":null,"usage":{"input_tokens":10,"cache_read_input_tokens":5,)"
      R"("output_tokens":3,"service_tier":"standard"}})";
  auto answer = provider->decode_for(request, {200, {}, std::string(body)});
  ASSERT_TRUE(answer.ok()) << answer.error().message;
  auto want = json::parse(body).as_object();
  want["model"] = "claude";  // the name the caller asked for
  EXPECT_EQ(json::parse(answer->message_json), json::value(want));
  EXPECT_EQ(answer->usage.prompt_tokens, 15);
  EXPECT_EQ(answer->usage.completion_tokens, 3);

  // Nothing to rename: the bytes as they came.
  auto same = std::string(body);
  same.replace(same.find("claude-sonnet-4-20250514"), 24, "claude");
  auto relayed = provider->decode_for(request, {200, {}, same});
  ASSERT_TRUE(relayed.ok());
  EXPECT_EQ(relayed->message_json, same);
}

TEST(AnthropicPassthrough, ErrorAnswersAreClassified) {
  const auto provider = make_anthropic(options());
  const auto request = messages_request(kBody);
  auto overloaded = provider->decode_for(
      request, {200, {}, R"({"type":"error","error":{"type":"overloaded_error","message":"x"}})"});
  ASSERT_FALSE(overloaded.ok());
  EXPECT_TRUE(overloaded.error().retryable);
  EXPECT_FALSE(provider->decode_for(request, {200, {}, "not json"}).ok());
  EXPECT_FALSE(provider->decode_for(request, {200, {}, R"({"type":"message"})"}).ok());
}

// A recorded stream with a text block and a tool_use block (input_json_delta).
constexpr std::string_view kStream =
    "event: message_start\n"
    "data: {\"type\":\"message_start\",\"message\":{\"id\":\"msg_1\",\"type\":\"message\","
    "\"role\":\"assistant\",\"model\":\"claude-sonnet-4-20250514\",\"content\":[],"
    "\"stop_reason\":null,\"usage\":{\"input_tokens\":12,\"output_tokens\":1}}}\n\n"
    "event: content_block_start\n"
    "data: {\"type\":\"content_block_start\",\"index\":0,\"content_block\":{\"type\":\"text\","
    "\"text\":\"\"}}\n\n"
    "event: ping\ndata: {\"type\": \"ping\"}\n\n"
    "event: content_block_delta\n"
    "data: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\","
    "\"text\":\"Let me look.\"}}\n\n"
    "event: content_block_stop\ndata: {\"type\":\"content_block_stop\",\"index\":0}\n\n"
    "event: content_block_start\n"
    "data: {\"type\":\"content_block_start\",\"index\":1,\"content_block\":{\"type\":"
    "\"tool_use\",\"id\":\"toolu_1\",\"name\":\"get_weather\",\"input\":{}}}\n\n"
    "event: content_block_delta\n"
    "data: {\"type\":\"content_block_delta\",\"index\":1,\"delta\":{\"type\":"
    "\"input_json_delta\",\"partial_json\":\"{\\\"city\\\": \\\"Paris\\\"}\"}}\n\n"
    "event: content_block_stop\ndata: {\"type\":\"content_block_stop\",\"index\":1}\n\n"
    "event: message_delta\n"
    "data: {\"type\":\"message_delta\",\"delta\":{\"stop_reason\":\"tool_use\","
    "\"stop_sequence\":null},\"usage\":{\"output_tokens\":20}}\n\n"
    "event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n";

std::unique_ptr<StreamDecoder> stream_decoder() {
  static const auto provider = make_anthropic(options());
  static const auto request = [] {
    auto r = messages_request(kBody);
    r.stream = true;
    return r;
  }();
  return provider->stream_decoder_for(request);
}

TEST(AnthropicPassthroughStream, EventsAreRelayedOneByOne) {
  const Decoded d = testing::decode_whole(stream_decoder, kStream);
  ASSERT_FALSE(d.error) << d.error->message;
  EXPECT_TRUE(d.done);
  ASSERT_EQ(d.deltas.size(), 10u);
  std::string relayed;
  for (const auto& delta : d.deltas) relayed += delta.event;
  // Every event as it came, but message_start names the caller's model.
  std::string want(kStream);
  const auto at = want.find("claude-sonnet-4-20250514");
  want.replace(at, 24, "claude");
  EXPECT_EQ(relayed, want);
  // What holds back (as a role-only chunk would) and what the gateway counts.
  EXPECT_TRUE(d.deltas[0].event_preamble);   // message_start
  EXPECT_TRUE(d.deltas[1].event_preamble);   // an empty text block starts
  EXPECT_TRUE(d.deltas[2].event_preamble);   // ping
  EXPECT_FALSE(d.deltas[3].event_preamble);  // text
  EXPECT_EQ(d.deltas[3].text, "Let me look.");
  EXPECT_FALSE(d.deltas[5].event_preamble);  // a tool_use block starts
  EXPECT_EQ(d.deltas[8].finish_reason, "tool_calls");
  ASSERT_TRUE(d.deltas[8].usage);
  EXPECT_EQ(d.deltas[8].usage->prompt_tokens, 12);
  EXPECT_EQ(d.deltas[8].usage->completion_tokens, 20);
}

TEST(AnthropicPassthroughStream, SameEventsWhereverTheBytesAreCut) {
  const Decoded whole = testing::decode_whole(stream_decoder, kStream);
  for (std::size_t cut = 1; cut < kStream.size(); ++cut) {
    const Decoded split =
        testing::decode_pieces(stream_decoder, {kStream.substr(0, cut), kStream.substr(cut)});
    ASSERT_FALSE(split.error) << "cut at " << cut;
    ASSERT_EQ(split.deltas.size(), whole.deltas.size()) << "cut at " << cut;
    for (std::size_t i = 0; i < whole.deltas.size(); ++i) {
      EXPECT_EQ(split.deltas[i].event, whole.deltas[i].event) << "cut at " << cut;
    }
  }
}

TEST(AnthropicPassthroughStream, ErrorEventsAndBrokenPayloadsFail) {
  const std::string start(kStream.substr(0, kStream.find("event: content_block_start")));
  const Decoded overloaded = testing::decode_whole(
      stream_decoder, start +
                          "event: error\ndata: {\"type\":\"error\",\"error\":{\"type\":"
                          "\"overloaded_error\",\"message\":\"Overloaded\"}}\n\n");
  ASSERT_TRUE(overloaded.error);
  EXPECT_TRUE(overloaded.error->retryable);
  ASSERT_EQ(overloaded.deltas.size(), 1u);  // message_start, held: another key may still answer
  EXPECT_TRUE(overloaded.deltas[0].event_preamble);

  const Decoded broken = testing::decode_whole(
      stream_decoder, start + "event: content_block_delta\ndata: {\"type\":\"content_bl\n\n");
  ASSERT_TRUE(broken.error);
  const Decoded cut = testing::decode_whole(stream_decoder, start);
  ASSERT_TRUE(cut.error);  // no message_stop
}

TEST(AnthropicPassthroughStream, OtherRequestsAreStillTranslated) {
  // A request from the OpenAI dialect has no Messages body: the usual chunks.
  auto request = ChatRequest::parse(R"({"model":"claude","messages":[{"role":"user",)"
                                    R"("content":"Hi"}],"stream":true})");
  ASSERT_TRUE(request.ok());
  const auto provider = make_anthropic(options());
  auto decoder = provider->stream_decoder_for(*request);
  std::vector<ChatDelta> out;
  ASSERT_TRUE(decoder->feed(kStream, out).ok());
  ASSERT_FALSE(out.empty());
  for (const auto& d : out) EXPECT_TRUE(d.event.empty());
  EXPECT_NE(out[0].chunk_json.find("chat.completion.chunk"), std::string_view::npos);
}

}  // namespace
}  // namespace bc::providers
