// The mock's Anthropic Messages format: x-api-key and anthropic-version, the named event
// sequence with tool_use and input_json_delta, errors, the request-field echo and the
// count_tokens route.
#include <gtest/gtest.h>

#include <boost/json.hpp>

#include "mockllm/anthropic_format.h"
#include "mockllm/formats.h"
#include "mockllm/provider_formats_test_support.h"

namespace bc::mockllm {
namespace {
namespace json = boost::json;
using namespace testing_formats;  // NOLINT: the shared helpers of provider_formats_test_support.h

TEST(AnthropicFormat, ReadsXApiKeyAndRequiresVersionAndMaxTokens) {
  const auto& f = anthropic_format();
  Call call{.headers = {{"x-api-key", "k1;latency=5"}, {"anthropic-version", "2023-06-01"}}};
  EXPECT_EQ(*f.api_key(call.request()), "k1;latency=5");
  call.body = R"({"model":"claude","max_tokens":64,"system":"be brief",
                  "messages":[{"role":"user","content":[{"type":"text","text":"hi there"}]}],
                  "tools":[{"name":"get_weather","input_schema":{"type":"object"}}]})";
  const auto parsed = f.parse(call.request());
  ASSERT_TRUE(parsed.ok()) << parsed.error().message;
  EXPECT_EQ(parsed->model, "claude");
  EXPECT_EQ(parsed->prompt_tokens, 4);
  EXPECT_EQ(parsed->first_tool, "get_weather");

  Call bearer{.headers = {{"Authorization", "Bearer k1"}}};
  EXPECT_FALSE(f.api_key(bearer.request()).ok());
  Call no_version{.headers = {{"x-api-key", "k1"}}, .body = call.body};
  EXPECT_FALSE(f.parse(no_version.request()).ok());
  call.body = R"({"model":"claude","messages":[{"role":"user","content":"hi"}]})";
  EXPECT_FALSE(f.parse(call.request()).ok());
  call.body = R"({"model":"c","max_tokens":9,"messages":[{"role":"system","content":"x"}]})";
  EXPECT_FALSE(f.parse(call.request()).ok());
}

TEST(AnthropicFormat, EchoesTheRequestsFieldNames) {
  const auto& f = anthropic_format();
  Call call{.headers = {{"x-api-key", "k1"}, {"anthropic-version", "2023-06-01"}},
            .body = R"({"model":"c","max_tokens":9,"top_k":3,"thinking":{"type":"enabled"},
                        "messages":[{"role":"user","content":"hi"}]})"};
  const auto parsed = f.parse(call.request());
  ASSERT_TRUE(parsed.ok()) << parsed.error().message;
  auto a = text_answer();
  a.echo = parsed->echo;
  const json::value keys = json::parse(R"(["max_tokens","messages","model","thinking","top_k"])");
  EXPECT_EQ(json::parse(f.completion(a)).at("mock_request_keys"), keys);
  EXPECT_EQ(named_json(f.stream_open(a).at(0)).at("message").at("mock_request_keys"), keys);
  EXPECT_FALSE(json::parse(f.completion(text_answer())).as_object().contains("mock_request_keys"));
}

TEST(AnthropicFormat, CountTokensAnswersTheWordsOfTheInput) {
  const auto& f = anthropic_count_tokens_format();
  EXPECT_EQ(find_format("/v1/messages/count_tokens"), &f);
  Call call{.headers = {{"x-api-key", "k1"}, {"anthropic-version", "2023-06-01"}},
            .body = R"({"model":"c","system":"be brief",
                        "messages":[{"role":"user","content":"how many tokens"}],"stream":true})"};
  const auto parsed = f.parse(call.request());  // no max_tokens needed, never streamed
  ASSERT_TRUE(parsed.ok()) << parsed.error().message;
  EXPECT_FALSE(parsed->stream);
  Answer a = text_answer();
  a.prompt_tokens = parsed->prompt_tokens;
  EXPECT_EQ(json::parse(f.completion(a)), json::parse(R"({"input_tokens":5})"));
}

TEST(AnthropicFormat, StreamIsTheNamedEventSequence) {
  const auto a = text_answer();
  const auto& f = anthropic_format();
  std::vector<json::value> events;
  for (const auto& e : f.stream_open(a)) events.push_back(named_json(e));
  std::string text;
  for (std::size_t i = 0; i < f.stream_piece_count(a); ++i) {
    const auto delta = named_json(f.stream_piece(a, i));
    EXPECT_EQ(delta.at("delta").at("type"), "text_delta");
    text += delta.at("delta").at("text").as_string();
  }
  for (const auto& e : f.stream_close(a)) events.push_back(named_json(e));
  EXPECT_EQ(text, a.text());
  std::vector<std::string> types;
  for (const auto& e : events) types.emplace_back(e.at("type").as_string());
  EXPECT_EQ(types,
            (std::vector<std::string>{"message_start", "content_block_start", "ping",
                                      "content_block_stop", "message_delta", "message_stop"}));
  EXPECT_EQ(events[0].at("message").at("usage").at("input_tokens"), 3);
  EXPECT_EQ(events[1].at("content_block").at("type"), "text");
  EXPECT_EQ(events[4].at("delta").at("stop_reason"), "end_turn");
  EXPECT_EQ(events[4].at("usage").at("output_tokens"), 5);

  const auto whole = json::parse(f.completion(a));
  EXPECT_EQ(whole.at("type"), "message");
  EXPECT_EQ(whole.at("content").at(0).at("text").as_string(), a.text());
  EXPECT_EQ(whole.at("stop_reason"), "end_turn");
  EXPECT_EQ(whole.at("usage").at("output_tokens"), 5);
}

TEST(AnthropicFormat, ToolUseStreamsInputJsonDeltas) {
  const auto a = tool_answer();
  const auto& f = anthropic_format();
  const auto open = f.stream_open(a);
  const auto block = named_json(open.at(1)).at("content_block");
  EXPECT_EQ(block.at("type"), "tool_use");
  EXPECT_EQ(block.at("name"), "get_weather");
  EXPECT_TRUE(block.at("id").as_string().starts_with("toolu_"));
  EXPECT_TRUE(block.at("input").as_object().empty());
  ASSERT_GE(f.stream_piece_count(a), 2u);
  std::string input;
  for (std::size_t i = 0; i < f.stream_piece_count(a); ++i) {
    const auto delta = named_json(f.stream_piece(a, i)).at("delta");
    EXPECT_EQ(delta.at("type"), "input_json_delta");
    input += delta.at("partial_json").as_string();
  }
  EXPECT_EQ(input, kToolArguments);
  EXPECT_EQ(named_json(f.stream_close(a).at(1)).at("delta").at("stop_reason"), "tool_use");
  const auto whole = json::parse(f.completion(a));
  EXPECT_EQ(whole.at("content").at(0).at("input").at("city"), "Paris");
  EXPECT_EQ(whole.at("stop_reason"), "tool_use");
}

TEST(AnthropicFormat, ErrorsNameTheirTypeAndStreamErrorIsAnErrorEvent) {
  const auto& f = anthropic_format();
  const auto overloaded = json::parse(f.error_body({.status = 529}));
  EXPECT_EQ(overloaded.at("type"), "error");
  EXPECT_EQ(overloaded.at("error").at("type"), "overloaded_error");
  EXPECT_EQ(json::parse(f.error_body({.status = 429})).at("error").at("type"), "rate_limit_error");
  EXPECT_EQ(json::parse(f.error_body({.status = 401})).at("error").at("type"),
            "authentication_error");
  const auto spend =
      json::parse(f.error_body({.status = 429, .code = "enforced_spend_limit_reached"}));
  EXPECT_EQ(spend.at("error").at("details").at("error_code"), "enforced_spend_limit_reached");
  const auto event = f.stream_error(text_answer(), "");
  EXPECT_TRUE(event.starts_with("event: error\n")) << event;
  EXPECT_EQ(named_json(event).at("error").at("type"), "overloaded_error");
}

}  // namespace
}  // namespace bc::mockllm
