#include "providers/anthropic_messages.h"

#include <gtest/gtest.h>
#include <boost/json.hpp>

namespace bc::providers {
namespace {

namespace json = boost::json;

json::object parsed_body(std::string_view text) {
  auto r = parse_messages_request(text);
  EXPECT_TRUE(r.ok()) << (r.ok() ? "" : r.error().message);
  return r.ok() ? r->body() : json::object();
}

std::string parse_error(std::string_view text, MessagesCall call = MessagesCall::kCreate) {
  auto r = parse_messages_request(text, call);
  EXPECT_FALSE(r.ok());
  if (r.ok()) return {};
  EXPECT_EQ(r.error().status(), 400);
  return r.error().message;
}

TEST(MessagesRequest, GoldenMultiTurnWithSystemBlocksToolsAndToolResults) {
  const auto text = R"({
    "model": "claude-x", "max_tokens": 300, "stream": true,
    "system": [{"type": "text", "text": "Be brief."}, {"type": "text", "text": "Be kind.",
                "cache_control": {"type": "ephemeral"}}],
    "messages": [
      {"role": "user", "content": [
        {"type": "text", "text": "What is in this picture, and the weather?"},
        {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": "iVBO"}}]},
      {"role": "assistant", "content": [
        {"type": "thinking", "thinking": "hmm", "signature": "s"},
        {"type": "text", "text": "Let me check."},
        {"type": "tool_use", "id": "toolu_1", "name": "weather", "input": {"city": "Paris"}}]},
      {"role": "user", "content": [
        {"type": "tool_result", "tool_use_id": "toolu_1", "content": "sunny"},
        {"type": "text", "text": "Thanks."}]}
    ],
    "tools": [{"name": "weather", "description": "Weather now",
               "input_schema": {"type": "object", "properties": {"city": {"type": "string"}}}}],
    "tool_choice": {"type": "any", "disable_parallel_tool_use": true},
    "stop_sequences": ["END"], "temperature": 0.5, "top_p": 0.9, "top_k": 40,
    "metadata": {"user_id": "u-1"}
  })";
  auto r = parse_messages_request(text);
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->model, "claude-x");
  EXPECT_TRUE(r->stream);
  const json::value expected = json::parse(R"({
    "model": "claude-x",
    "messages": [
      {"role": "system", "content": "Be brief.\n\nBe kind."},
      {"role": "user", "content": [
        {"type": "text", "text": "What is in this picture, and the weather?"},
        {"type": "image_url", "image_url": {"url": "data:image/png;base64,iVBO"}}]},
      {"role": "assistant", "content": "Let me check.", "tool_calls": [
        {"id": "toolu_1", "type": "function",
         "function": {"name": "weather", "arguments": "{\"city\":\"Paris\"}"}}]},
      {"role": "tool", "tool_call_id": "toolu_1", "content": "sunny"},
      {"role": "user", "content": [{"type": "text", "text": "Thanks."}]}
    ],
    "max_tokens": 300, "stream": true,
    "temperature": 0.5, "top_p": 0.9, "top_k": 40, "stop": ["END"], "user": "u-1",
    "tools": [{"type": "function", "function": {"name": "weather", "description": "Weather now",
               "parameters": {"type": "object", "properties": {"city": {"type": "string"}}}}}],
    "tool_choice": "required", "parallel_tool_calls": false
  })");
  EXPECT_EQ(json::value(r->body()), expected) << json::serialize(r->body());
}

TEST(MessagesRequest, StringContentAndToolChoicesTranslate) {
  auto body = parsed_body(
      R"({"model":"m","max_tokens":5,"system":"S","messages":[{"role":"user","content":"hi"},
          {"role":"assistant","content":"yo"}],"tools":[{"name":"f","input_schema":{}}],
          "tool_choice":{"type":"tool","name":"f"}})");
  EXPECT_EQ(json::value(body.at("messages")),
            json::parse(R"([{"role":"system","content":"S"},{"role":"user","content":"hi"},
                            {"role":"assistant","content":"yo"}])"));
  EXPECT_EQ(body.at("tool_choice"), json::parse(R"({"type":"function","function":{"name":"f"}})"));
  EXPECT_FALSE(body.contains("stream"));
  EXPECT_EQ(parsed_body(R"({"model":"m","max_tokens":5,"messages":[{"role":"user","content":"x"}],
                         "tool_choice":{"type":"auto"}})")
                .at("tool_choice"),
            "auto");
  EXPECT_EQ(parsed_body(R"({"model":"m","max_tokens":5,"messages":[{"role":"user","content":"x"}],
                         "tool_choice":{"type":"none"}})")
                .at("tool_choice"),
            "none");
}

TEST(MessagesRequest, ToolOnlyAssistantTurnHasNullContentAndErrorResultsAreMarked) {
  auto body = parsed_body(R"({"model":"m","max_tokens":5,"messages":[
      {"role":"user","content":"x"},
      {"role":"assistant","content":[{"type":"tool_use","id":"t","name":"f","input":{}}]},
      {"role":"user","content":[{"type":"tool_result","tool_use_id":"t","is_error":true,
                                 "content":[{"type":"text","text":"boom"}]}]}]})");
  const auto& messages = body.at("messages").as_array();
  ASSERT_EQ(messages.size(), 3u);
  EXPECT_TRUE(messages[1].as_object().at("content").is_null());
  EXPECT_EQ(messages[2],
            json::parse(R"({"role":"tool","tool_call_id":"t","content":"Error: boom"})"));
}

TEST(MessagesRequest, RefusesWhatAnthropicRefusesWithTheFieldNamed) {
  EXPECT_EQ(parse_error(R"({"model":"m","messages":[{"role":"user","content":"x"}]})"),
            "max_tokens: Field required");
  EXPECT_NE(
      parse_error(R"({"model":"m","max_tokens":0,"messages":[{"role":"user","content":"x"}]})")
          .find("max_tokens"),
      std::string::npos);
  EXPECT_NE(
      parse_error(R"({"model":"m","max_tokens":1.5,"messages":[{"role":"user","content":"x"}]})")
          .find("max_tokens"),
      std::string::npos);
  EXPECT_NE(
      parse_error(R"({"max_tokens":5,"messages":[{"role":"user","content":"x"}]})").find("model"),
      std::string::npos);
  EXPECT_NE(parse_error(R"({"model":"m","max_tokens":5,"messages":[]})").find("messages"),
            std::string::npos);
  EXPECT_NE(
      parse_error(R"({"model":"m","max_tokens":5,"messages":[{"role":"system","content":"x"}]})")
          .find("messages.0.role"),
      std::string::npos);
  EXPECT_NE(parse_error(R"({"model":"m","max_tokens":5,"messages":[{"role":"user","content":
                           [{"type":"document","source":{}}]}]})")
                .find("messages.0.content.0.type"),
            std::string::npos);
  EXPECT_NE(parse_error(R"({"model":"m","max_tokens":5,"messages":[{"role":"user","content":"x"}],
                           "tools":[{"type":"web_search_20250305","name":"web_search"}]})")
                .find("tools.0.type"),
            std::string::npos);
  EXPECT_NE(parse_error(R"({"model":"m","max_tokens":5,"messages":[{"role":"user","content":"x"}],
                           "tool_choice":{"type":"sometimes"}})")
                .find("tool_choice"),
            std::string::npos);
  EXPECT_NE(parse_error(R"([1,2])").find("JSON object"), std::string::npos);
  EXPECT_NE(parse_error(R"({"model":"m","max_tokens":5,"messages":[{"role":"user","content":
                           [{"type":"image","source":{"type":"file","file_id":"f"}}]}]})")
                .find("source.type"),
            std::string::npos);
}

TEST(MessagesRequest, CountTokensNeedsNoMaxTokensAndEstimatesFromTheTexts) {
  auto r = parse_messages_request(
      R"({"model":"m","system":"abcdefgh","messages":[{"role":"user","content":"12345678"}]})",
      MessagesCall::kCountTokens);
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_FALSE(r->stream);
  EXPECT_EQ(estimate_input_tokens(*r), 4);  // 16 bytes of text, four a token
  auto with_tools = parse_messages_request(
      R"({"model":"m","system":"abcdefgh","messages":[{"role":"user","content":"12345678"}],
          "tools":[{"name":"f","input_schema":{"type":"object"}}]})",
      MessagesCall::kCountTokens);
  ASSERT_TRUE(with_tools.ok());
  EXPECT_GT(estimate_input_tokens(*with_tools), 4);  // the tool definitions count too
}

TEST(MessagesErrors, TypesFollowTheStatus) {
  EXPECT_EQ(anthropic_error_type(Error::invalid_request("x")), "invalid_request_error");
  Error auth;
  auth.kind = ErrorKind::kAuthentication;
  EXPECT_EQ(anthropic_error_type(auth), "authentication_error");
  Error limited;
  limited.kind = ErrorKind::kRateLimited;
  EXPECT_EQ(anthropic_error_type(limited), "rate_limit_error");
  EXPECT_EQ(anthropic_error_type(Error::not_found("x")), "not_found_error");
  EXPECT_EQ(anthropic_error_type(Error::unavailable("x")), "overloaded_error");
  EXPECT_EQ(anthropic_error_type(Error::upstream("x")), "api_error");
  EXPECT_EQ(
      json::parse(anthropic_error_json(Error::invalid_request("bad"))),
      json::parse(R"({"type":"error","error":{"type":"invalid_request_error","message":"bad"}})"));
}

ChatResponse completion(std::string_view text) {
  ChatResponse r;
  r.raw_json = std::string(text);
  r.usage.prompt_tokens = 11;
  r.usage.completion_tokens = 7;
  return r;
}

TEST(MessagesAnswer, GoldenMessageWithTextAndToolUse) {
  auto m = message_of(completion(R"({"id":"c1","object":"chat.completion","choices":[{"index":0,
      "message":{"role":"assistant","content":"Checking.","tool_calls":[{"id":"call_1",
      "type":"function","function":{"name":"weather","arguments":"{\"city\":\"Paris\"}"}}]},
      "finish_reason":"tool_calls"}]})"),
                      "msg_r1", "claude-x");
  ASSERT_TRUE(m.ok()) << m.error().message;
  EXPECT_EQ(json::parse(*m), json::parse(R"({"id":"msg_r1","type":"message","role":"assistant",
      "model":"claude-x","content":[{"type":"text","text":"Checking."},
      {"type":"tool_use","id":"call_1","name":"weather","input":{"city":"Paris"}}],
      "stop_reason":"tool_use","stop_sequence":null,
      "usage":{"input_tokens":11,"output_tokens":7}})"));
}

TEST(MessagesAnswer, StopReasonsMapAndBadToolArgumentsAreAnUpstreamError) {
  EXPECT_EQ(stop_reason_of("stop"), "end_turn");
  EXPECT_EQ(stop_reason_of("length"), "max_tokens");
  EXPECT_EQ(stop_reason_of("tool_calls"), "tool_use");
  EXPECT_EQ(stop_reason_of("content_filter"), "refusal");
  EXPECT_EQ(stop_reason_of(""), "end_turn");
  auto m = message_of(completion(R"({"choices":[{"message":{"content":null,"tool_calls":[{"id":"c",
      "function":{"name":"f","arguments":"[1"}}]},"finish_reason":"tool_calls"}]})"),
                      "msg_1", "m");
  ASSERT_FALSE(m.ok());
  EXPECT_EQ(m.error().status(), 502);
}

// The events of a stream, as (event name, data) pairs, each data checked to be JSON.
std::vector<std::pair<std::string, json::value>> events_of(const std::string& sse) {
  std::vector<std::pair<std::string, json::value>> out;
  std::size_t at = 0;
  while (at < sse.size()) {
    const auto end = sse.find("\n\n", at);
    EXPECT_NE(end, std::string::npos) << sse.substr(at);
    if (end == std::string::npos) break;
    const std::string event = sse.substr(at, end - at);
    at = end + 2;
    const auto nl = event.find('\n');
    EXPECT_TRUE(event.starts_with("event: ")) << event;
    EXPECT_EQ(event.substr(nl + 1, 6), "data: ") << event;
    const std::string name = event.substr(7, nl - 7);
    json::value data = json::parse(event.substr(nl + 7));
    EXPECT_EQ(data.at("type"), json::value(name)) << event;
    out.emplace_back(name, std::move(data));
  }
  return out;
}

RelayDelta chunk(std::string json, std::string finish = {}) {
  RelayDelta d;
  d.chunk_json = std::move(json);
  d.finish_reason = std::move(finish);
  return d;
}

TEST(MessagesEvents, TextThenToolCallStreamInAnthropicsOrder) {
  MessageEventWriter writer("msg_1", "claude-x");
  std::string out;
  writer.start(out);
  writer.add(chunk(R"({"choices":[{"index":0,"delta":{"role":"assistant","content":""}}]})"), out);
  writer.ping(out);
  writer.add(chunk(R"({"choices":[{"index":0,"delta":{"content":"Hel"}}]})"), out);
  RelayDelta run;  // a merged run of content chunks
  run.chunk_json = R"({"choices":[{"index":0,"delta":{"content":"l"}}]})";
  run.text = "lo";
  run.chunks = 2;
  writer.add(run, out);
  writer.add(chunk(R"({"choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"id":"call_1",
      "type":"function","function":{"name":"weather","arguments":""}}]}}]})"),
             out);
  writer.add(chunk(R"({"choices":[{"index":0,"delta":{"tool_calls":[{"index":0,
      "function":{"arguments":"{\"city\":"}}]}}]})"),
             out);
  writer.add(chunk(R"({"choices":[{"index":0,"delta":{"tool_calls":[{"index":0,
      "function":{"arguments":"\"Paris\"}"}}]}}]})"),
             out);
  writer.add(
      chunk(R"({"choices":[{"index":0,"delta":{},"finish_reason":"tool_calls"}]})", "tool_calls"),
      out);
  RelayDelta usage = chunk(R"({"choices":[],"usage":{"prompt_tokens":9,"completion_tokens":4}})");
  usage.usage = Usage{9, 4, 13};
  writer.add(usage, out);
  writer.finish(out);

  const auto events = events_of(out);
  std::vector<std::string> names;
  for (const auto& e : events) names.push_back(e.first);
  EXPECT_EQ(names, (std::vector<std::string>{
                       "message_start", "ping", "content_block_start", "content_block_delta",
                       "content_block_delta", "content_block_stop", "content_block_start",
                       "content_block_delta", "content_block_delta", "content_block_stop",
                       "message_delta", "message_stop"}));
  EXPECT_EQ(events[0].second.at("message").at("id"), "msg_1");
  EXPECT_EQ(events[0].second.at("message").at("model"), "claude-x");
  EXPECT_EQ(events[2].second, json::parse(R"({"type":"content_block_start","index":0,
      "content_block":{"type":"text","text":""}})"));
  EXPECT_EQ(events[3].second.at("delta"), json::parse(R"({"type":"text_delta","text":"Hel"})"));
  EXPECT_EQ(events[4].second.at("delta").at("text"), "lo");
  EXPECT_EQ(events[6].second, json::parse(R"({"type":"content_block_start","index":1,
      "content_block":{"type":"tool_use","id":"call_1","name":"weather","input":{}}})"));
  EXPECT_EQ(events[7].second.at("delta"),
            json::parse(R"({"type":"input_json_delta","partial_json":"{\"city\":"})"));
  EXPECT_EQ(events[8].second.at("index"), 1);
  EXPECT_EQ(events[10].second, json::parse(R"({"type":"message_delta",
      "delta":{"stop_reason":"tool_use","stop_sequence":null},
      "usage":{"output_tokens":4,"input_tokens":9}})"));
}

TEST(MessagesEvents, EmptyAnswerStillStartsAndEndsAndErrorsAreEvents) {
  MessageEventWriter writer("msg_2", "m");
  std::string out;
  writer.finish(out);
  const auto events = events_of(out);
  ASSERT_EQ(events.size(), 3u);
  EXPECT_EQ(events[0].first, "message_start");
  EXPECT_EQ(events[1].second.at("delta").at("stop_reason"), "end_turn");
  EXPECT_EQ(events[2].first, "message_stop");
  const auto error = events_of(MessageEventWriter::error_event(Error::upstream("cut")));
  ASSERT_EQ(error.size(), 1u);
  EXPECT_EQ(error[0].second.at("error"), json::parse(R"({"type":"api_error","message":"cut"})"));
}

}  // namespace
}  // namespace bc::providers
