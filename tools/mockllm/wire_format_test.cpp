#include <gtest/gtest.h>

#include <boost/json.hpp>

#include "mockllm/formats.h"
#include "mockllm/openai_format.h"
#include "mockllm/zhipu_format.h"

namespace bc::mockllm {
namespace {
namespace json = boost::json;

Answer sample_answer(bool include_usage) {
  Answer a;
  a.id = "id-1";
  a.created = 1700000000;
  a.model = "m1";
  a.pieces = answer_pieces("m1", "k1", 5);
  a.prompt_tokens = 3;
  a.include_usage = include_usage;
  return a;
}

// The payload of one "data: ...\n\n" event.
std::string payload(const std::string& event) {
  EXPECT_TRUE(event.starts_with("data: ")) << event;
  EXPECT_TRUE(event.ends_with("\n\n")) << event;
  return event.substr(6, event.size() - 8);
}

std::string streamed_text(const WireFormat& format, const Answer& a) {
  std::string text;
  for (std::size_t i = 0; i < a.pieces.size(); ++i) {
    const auto chunk = json::parse(payload(format.stream_piece(a, i)));
    text += chunk.at("choices").at(0).at("delta").at("content").as_string();
  }
  return text;
}

Result<ChatCall> parse_body(const WireFormat& format, std::string_view body) {
  static const Headers none;
  return format.parse({"/", none, body});
}

TEST(ChatRoutes, MapPathsToFormats) {
  EXPECT_EQ(find_format("/v1/chat/completions"), &openai_format());
  EXPECT_EQ(find_format("/api/paas/v4/chat/completions"), &zhipu_format());
  EXPECT_EQ(find_format("/v1/completions"), nullptr);
}

TEST(WireFormat, ReadsTheBearerKey) {
  const Headers bearer{{"Authorization", "Bearer k1;latency=5"}};
  const Headers lower{{"authorization", "bearer k2"}};
  const Headers basic{{"Authorization", "Basic abc"}};
  const Headers none;
  EXPECT_EQ(*openai_format().api_key({"/", bearer, ""}), "k1;latency=5");
  EXPECT_EQ(*openai_format().api_key({"/", lower, ""}), "k2");
  EXPECT_FALSE(openai_format().api_key({"/", basic, ""}).ok());
  EXPECT_FALSE(zhipu_format().api_key({"/", none, ""}).ok());
}

TEST(WireFormat, ParsesModelStreamUsageAndPromptWords) {
  const auto call =
      parse_body(openai_format(),
                 R"({"model":"gpt-x","stream":true,"stream_options":{"include_usage":true},
                                   "messages":[{"role":"system","content":"be brief"},
                                               {"role":"user","content":"hi  there\nfriend"}]})");
  ASSERT_TRUE(call.ok());
  EXPECT_EQ(call->model, "gpt-x");
  EXPECT_TRUE(call->stream);
  EXPECT_TRUE(call->include_usage);
  EXPECT_EQ(call->prompt_tokens, 5);

  const auto zhipu =
      parse_body(zhipu_format(), R"({"messages":[{"role":"user"}],"request_id":"r9"})");
  ASSERT_TRUE(zhipu.ok());
  EXPECT_EQ(zhipu->model, "mock");
  EXPECT_EQ(zhipu->request_id, "r9");
  EXPECT_EQ(zhipu->prompt_tokens, 1);
}

TEST(WireFormat, RejectsBodiesWithoutMessages) {
  for (const auto* format : {&openai_format(), &zhipu_format()}) {
    EXPECT_FALSE(parse_body(*format, "not json").ok());
    EXPECT_FALSE(parse_body(*format, "[1]").ok());
    EXPECT_FALSE(parse_body(*format, R"({"model":"m"})").ok());
    EXPECT_FALSE(parse_body(*format, R"({"messages":[]})").ok());
  }
}

TEST(OpenAiFormat, CompletionIsAChatCompletionWithConsistentUsage) {
  const auto a = sample_answer(false);
  const auto doc = json::parse(openai_format().completion(a)).as_object();
  EXPECT_EQ(doc.at("id"), "id-1");
  EXPECT_EQ(doc.at("object"), "chat.completion");
  EXPECT_EQ(doc.at("model"), "m1");
  const auto& choice = doc.at("choices").at(0);
  EXPECT_EQ(choice.at("message").at("role"), "assistant");
  EXPECT_EQ(choice.at("message").at("content"), "Hello from m1 via k1");
  EXPECT_EQ(choice.at("finish_reason"), "stop");
  EXPECT_EQ(doc.at("usage").at("prompt_tokens"), 3);
  EXPECT_EQ(doc.at("usage").at("completion_tokens"), 5);
  EXPECT_EQ(doc.at("usage").at("total_tokens"), 8);
}

TEST(OpenAiFormat, StreamOpensWithRoleAndClosesWithFinishUsageAndDone) {
  const auto a = sample_answer(true);
  const auto& f = openai_format();
  const auto open = f.stream_open(a);
  ASSERT_EQ(open.size(), 1u);
  const auto role = json::parse(payload(open[0]));
  EXPECT_EQ(role.at("object"), "chat.completion.chunk");
  EXPECT_EQ(role.at("choices").at(0).at("delta").at("role"), "assistant");
  EXPECT_TRUE(role.at("usage").is_null());

  EXPECT_EQ(streamed_text(f, a), a.text());

  const auto close = f.stream_close(a);
  ASSERT_EQ(close.size(), 3u);
  const auto finish = json::parse(payload(close[0]));
  EXPECT_EQ(finish.at("choices").at(0).at("finish_reason"), "stop");
  EXPECT_TRUE(finish.at("choices").at(0).at("delta").as_object().empty());
  const auto usage = json::parse(payload(close[1]));
  EXPECT_TRUE(usage.at("choices").as_array().empty());
  EXPECT_EQ(usage.at("usage").at("completion_tokens"), 5);
  EXPECT_EQ(payload(close[2]), "[DONE]");

  const auto without_usage = f.stream_close(sample_answer(false));
  ASSERT_EQ(without_usage.size(), 2u);
  EXPECT_FALSE(json::parse(payload(without_usage[0])).as_object().contains("usage"));
}

TEST(OpenAiFormat, ErrorsUseOpenAiShapeAndTypicalCodes) {
  const auto& f = openai_format();
  const auto rate = json::parse(f.error_body({.status = 429})).at("error");
  EXPECT_EQ(rate.at("type"), "requests");
  EXPECT_EQ(rate.at("code"), "rate_limit_exceeded");
  EXPECT_FALSE(rate.at("message").as_string().empty());
  EXPECT_EQ(
      json::parse(f.error_body({.status = 401, .message = "no key"})).at("error").at("message"),
      "no key");
  EXPECT_EQ(json::parse(f.error_body({.status = 500})).at("error").at("type"), "server_error");
  EXPECT_EQ(json::parse(f.error_body({.status = 429, .code = "insufficient_quota"}))
                .at("error")
                .at("code"),
            "insufficient_quota");
  const auto in_stream = json::parse(payload(f.stream_error(sample_answer(false), "")));
  EXPECT_TRUE(in_stream.as_object().contains("error"));
  boost::system::error_code ec;
  json::parse(payload(f.stream_malformed(sample_answer(false))), ec);
  EXPECT_TRUE(ec);
}

TEST(ZhipuFormat, CompletionHasRequestIdAndNoObject) {
  const auto a = sample_answer(false);
  const auto doc = json::parse(zhipu_format().completion(a)).as_object();
  EXPECT_FALSE(doc.contains("object"));
  EXPECT_EQ(doc.at("request_id"), "id-1");
  EXPECT_EQ(doc.at("choices").at(0).at("message").at("content"), "Hello from m1 via k1");
  EXPECT_EQ(doc.at("usage").at("total_tokens"), 8);
}

TEST(ZhipuFormat, StreamRepeatsRoleAndPutsUsageOnTheFinalChunk) {
  const auto a = sample_answer(false);
  const auto& f = zhipu_format();
  EXPECT_TRUE(f.stream_open(a).empty());
  const auto piece = json::parse(payload(f.stream_piece(a, 1))).as_object();
  EXPECT_FALSE(piece.contains("object"));
  EXPECT_EQ(piece.at("choices").at(0).at("delta").at("role"), "assistant");
  EXPECT_FALSE(piece.at("choices").at(0).as_object().contains("finish_reason"));
  EXPECT_EQ(streamed_text(f, a), a.text());

  const auto close = f.stream_close(a);
  ASSERT_EQ(close.size(), 2u);
  const auto last = json::parse(payload(close[0]));
  EXPECT_EQ(last.at("choices").at(0).at("finish_reason"), "stop");
  EXPECT_EQ(last.at("usage").at("completion_tokens"), 5);
  EXPECT_EQ(payload(close[1]), "[DONE]");
}

TEST(ZhipuFormat, ErrorsCarryStringBusinessCodes) {
  const auto& f = zhipu_format();
  EXPECT_EQ(json::parse(f.error_body({.status = 429})).at("error").at("code"), "1302");
  EXPECT_EQ(json::parse(f.error_body({.status = 401})).at("error").at("code"), "1000");
  EXPECT_EQ(json::parse(f.error_body({.status = 400, .message = "bad"})).at("error").at("message"),
            "bad");
  EXPECT_EQ(json::parse(f.error_body({.status = 500})).at("error").at("code"), "500");
  EXPECT_EQ(json::parse(f.error_body({.status = 429, .code = "1113"})).at("error").at("code"),
            "1113");
  const auto in_stream = json::parse(payload(f.stream_error(sample_answer(false), "")));
  EXPECT_TRUE(in_stream.at("error").at("code").is_string());
}

}  // namespace
}  // namespace bc::mockllm
