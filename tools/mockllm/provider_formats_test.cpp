// Framing of the formats beyond OpenAI's text answers, part one: the routes, tool calls in the
// OpenAI and Zhipu formats, and the Gemini shapes (Anthropic's: anthropic_format_test.cpp).
#include <gtest/gtest.h>

#include <boost/json.hpp>

#include "mockllm/anthropic_format.h"
#include "mockllm/baidu_legacy_format.h"
#include "mockllm/baidu_v2_format.h"
#include "mockllm/formats.h"
#include "mockllm/gemini_format.h"
#include "mockllm/ollama_format.h"
#include "mockllm/openai_format.h"
#include "mockllm/provider_formats_test_support.h"
#include "mockllm/spark_format.h"
#include "mockllm/zhipu_format.h"

namespace bc::mockllm {
namespace {

using namespace testing_formats;

TEST(ChatRoutes, MapEveryProviderPath) {
  EXPECT_EQ(find_format("/v1/messages"), &anthropic_format());
  EXPECT_EQ(find_format("/v1beta/models/gemini-2.5-flash:generateContent"), &gemini_format());
  EXPECT_EQ(find_format("/v1beta/models/gemini-2.5-flash:streamGenerateContent"), &gemini_format());
  EXPECT_EQ(find_format("/api/chat"), &ollama_format());
  EXPECT_EQ(find_format("/v2/chat/completions"), &baidu_v2_format());
  EXPECT_EQ(find_format("/rpc/2.0/ai_custom/v1/wenxinworkshop/chat/ernie-speed-128k"),
            &baidu_legacy_format());
  EXPECT_EQ(find_format("/spark/v1/chat/completions"), &spark_format());
  EXPECT_EQ(find_format("/v1beta/models/:generateContent"), nullptr);
  EXPECT_EQ(find_format("/v1beta/models/a/b:generateContent"), nullptr);
  EXPECT_EQ(find_format("/rpc/2.0/ai_custom/v1/wenxinworkshop/chat/"), nullptr);
}

TEST(QueryParam, FindsAndPercentDecodesValues) {
  EXPECT_EQ(query_param("/p?alt=sse&key=k1%3Blatency%3D5", "key"), "k1;latency=5");
  EXPECT_EQ(query_param("/p?alt=sse&key=a+b", "alt"), "sse");
  EXPECT_EQ(query_param("/p?key=a+b", "key"), "a b");
  EXPECT_FALSE(query_param("/p?alt=sse", "key"));
  EXPECT_FALSE(query_param("/p", "key"));
}

TEST(CountTextWords, ReadsStringsPartsAndBlocks) {
  EXPECT_EQ(count_text_words(json::parse(R"("two words")")), 2);
  EXPECT_EQ(count_text_words(json::parse(R"([{"type":"text","text":"a b c"},{"type":"image"}])")),
            3);
  EXPECT_EQ(count_text_words(json::parse(R"({"role":"user","parts":[{"text":"x y"}]})")), 2);
}

TEST(ToolArguments, FragmentsConcatenateToTheArguments) {
  const auto fragments = tool_argument_fragments();
  ASSERT_GE(fragments.size(), 2u);
  std::string joined;
  for (const auto& f : fragments) joined += f;
  EXPECT_EQ(joined, kToolArguments);
}

TEST(OpenAiFormat, ReadsTheFirstToolName) {
  const auto call = parse_openai_like_call(
      R"({"messages":[{"role":"user","content":"hi"}],
          "tools":[{"type":"function","function":{"name":"get_weather"}},
                   {"type":"function","function":{"name":"other"}}]})");
  ASSERT_TRUE(call.ok());
  EXPECT_EQ(call->first_tool, "get_weather");
}

TEST(OpenAiFormat, ToolCallStreamsArgumentsInFragments) {
  const auto a = tool_answer();
  const auto& f = openai_format();
  const auto whole = json::parse(f.completion(a));
  const auto& choice = whole.at("choices").at(0);
  EXPECT_EQ(choice.at("finish_reason"), "tool_calls");
  const auto& call = choice.at("message").at("tool_calls").at(0);
  EXPECT_EQ(call.at("function").at("name"), "get_weather");
  EXPECT_EQ(call.at("function").at("arguments").as_string(), kToolArguments);
  EXPECT_TRUE(choice.at("message").at("content").is_null());

  const auto open = sse_json(f.stream_open(a).at(0)).at("choices").at(0).at("delta");
  EXPECT_EQ(open.at("tool_calls").at(0).at("id"), call.at("id"));
  EXPECT_EQ(open.at("tool_calls").at(0).at("function").at("arguments"), "");
  ASSERT_GE(f.stream_piece_count(a), 2u);
  std::string arguments;
  for (std::size_t i = 0; i < f.stream_piece_count(a); ++i) {
    const auto delta = sse_json(f.stream_piece(a, i)).at("choices").at(0).at("delta");
    EXPECT_EQ(delta.at("tool_calls").at(0).at("index"), 0);
    arguments += delta.at("tool_calls").at(0).at("function").at("arguments").as_string();
  }
  EXPECT_EQ(arguments, kToolArguments);
  EXPECT_EQ(sse_json(f.stream_close(a).at(0)).at("choices").at(0).at("finish_reason"),
            "tool_calls");
}

TEST(ZhipuFormat, ToolCallArrivesWholeInOneChunk) {
  const auto a = tool_answer();
  const auto& f = zhipu_format();
  ASSERT_EQ(f.stream_piece_count(a), 1u);
  const auto chunk = sse_json(f.stream_piece(a, 0));
  const auto& choice = chunk.at("choices").at(0);
  EXPECT_EQ(choice.at("finish_reason"), "tool_calls");
  const auto& call = choice.at("delta").at("tool_calls").at(0);
  EXPECT_EQ(call.at("function").at("name"), "get_weather");
  EXPECT_EQ(call.at("function").at("arguments").as_string(), kToolArguments);
  EXPECT_TRUE(call.at("id").as_string().starts_with("call_"));
  const auto close = f.stream_close(a);
  EXPECT_EQ(sse_json(close.at(0)).at("choices").at(0).at("finish_reason"), "tool_calls");
  const auto whole = json::parse(f.completion(a));
  EXPECT_EQ(whole.at("choices")
                .at(0)
                .at("message")
                .at("tool_calls")
                .at(0)
                .at("function")
                .at("arguments")
                .as_string(),
            kToolArguments);
}

TEST(GeminiFormat, ReadsKeyFromHeaderOrQueryAndModelFromPath) {
  const auto& f = gemini_format();
  Call header{.headers = {{"x-goog-api-key", "g1;tokens=2"}}};
  EXPECT_EQ(*f.api_key(header.request()), "g1;tokens=2");
  Call query{.target =
                 "/v1beta/models/gemini-2.5-flash:streamGenerateContent?alt=sse&key=g2%3Bgap%3D1"};
  EXPECT_EQ(*f.api_key(query.request()), "g2;gap=1");
  Call none;
  EXPECT_FALSE(f.api_key(none.request()).ok());

  query.body = R"({"systemInstruction":{"parts":[{"text":"be brief"}]},
                   "contents":[{"role":"user","parts":[{"text":"hi there"}]}],
                   "tools":[{"functionDeclarations":[{"name":"get_weather"}]}]})";
  const auto call = f.parse(query.request());
  ASSERT_TRUE(call.ok()) << call.error().message;
  EXPECT_EQ(call->model, "gemini-2.5-flash");
  EXPECT_TRUE(call->stream);
  EXPECT_EQ(call->prompt_tokens, 4);
  EXPECT_EQ(call->first_tool, "get_weather");

  Call whole{.target = "/v1beta/models/g:generateContent", .body = query.body};
  EXPECT_FALSE(f.parse(whole.request())->stream);
  Call no_sse{.target = "/v1beta/models/g:streamGenerateContent", .body = query.body};
  EXPECT_FALSE(f.parse(no_sse.request()).ok());
  Call system_role{.target = "/v1beta/models/g:generateContent",
                   .body = R"({"contents":[{"role":"system","parts":[{"text":"x"}]}]})"};
  EXPECT_FALSE(f.parse(system_role.request()).ok());
}

TEST(GeminiFormat, StreamHasCumulativeUsageFinishOnTheLastChunkAndCrlfSeparators) {
  const auto a = text_answer();
  const auto& f = gemini_format();
  EXPECT_TRUE(f.stream_open(a).empty());
  ASSERT_EQ(f.stream_piece_count(a), 5u);
  std::string text;
  for (std::size_t i = 0; i < 5; ++i) {
    const auto chunk = gemini_json(f.stream_piece(a, i));
    const auto& candidate = chunk.at("candidates").at(0).as_object();
    text += candidate.at("content").at("parts").at(0).at("text").as_string();
    EXPECT_EQ(candidate.at("content").at("role"), "model");
    EXPECT_EQ(candidate.contains("finishReason"), i == 4);
    EXPECT_EQ(chunk.at("usageMetadata").at("candidatesTokenCount"), static_cast<int>(i) + 1);
  }
  EXPECT_EQ(text, a.text());
  EXPECT_TRUE(f.stream_close(a).empty());
  const auto empty = text_answer(0);
  ASSERT_EQ(f.stream_close(empty).size(), 1u);
  EXPECT_EQ(gemini_json(f.stream_close(empty)[0]).at("candidates").at(0).at("finishReason"),
            "STOP");

  const auto whole = json::parse(f.completion(a));
  EXPECT_EQ(whole.at("candidates").at(0).at("finishReason"), "STOP");
  EXPECT_EQ(whole.at("usageMetadata").at("totalTokenCount"), 8);
  EXPECT_EQ(whole.at("responseId"), "id-1");
}

TEST(GeminiFormat, FunctionCallIsOnePartWithArgsObject) {
  const auto a = tool_answer();
  const auto& f = gemini_format();
  ASSERT_EQ(f.stream_piece_count(a), 1u);
  const auto chunk = gemini_json(f.stream_piece(a, 0));
  const auto& candidate = chunk.at("candidates").at(0);
  EXPECT_EQ(candidate.at("finishReason"), "STOP");
  const auto& call = candidate.at("content").at("parts").at(0).at("functionCall");
  EXPECT_EQ(call.at("name"), "get_weather");
  EXPECT_EQ(call.at("args").at("city"), "Paris");
  EXPECT_EQ(json::parse(f.completion(a))
                .at("candidates")
                .at(0)
                .at("content")
                .at("parts")
                .at(0)
                .at("functionCall"),
            call);
}

TEST(GeminiFormat, RateLimitIsResourceExhaustedWithRetryInfoInTheBody) {
  const auto& f = gemini_format();
  EXPECT_FALSE(f.retry_after_header());
  const auto error = json::parse(f.error_body({.status = 429, .retry_after = 7})).at("error");
  EXPECT_EQ(error.at("code"), 429);
  EXPECT_EQ(error.at("status"), "RESOURCE_EXHAUSTED");
  bool retry_info = false;
  bool quota = false;
  for (const auto& detail : error.at("details").as_array()) {
    const auto type = detail.at("@type").as_string();
    if (type == "type.googleapis.com/google.rpc.RetryInfo") {
      retry_info = detail.at("retryDelay") == "7s";
    }
    if (type == "type.googleapis.com/google.rpc.QuotaFailure") {
      quota = detail.at("violations").at(0).at("quotaId").as_string().subview().find("PerMinute") !=
              std::string_view::npos;
    }
  }
  EXPECT_TRUE(retry_info);
  EXPECT_TRUE(quota);
  const auto daily = json::parse(
      f.error_body({.status = 429, .code = "GenerateRequestsPerDayPerProjectPerModel-FreeTier"}));
  EXPECT_EQ(daily.at("error").at("details").at(0).at("violations").at(0).at("quotaId"),
            "GenerateRequestsPerDayPerProjectPerModel-FreeTier");
  const auto bad_key = json::parse(f.error_body({.status = 400, .code = "API_KEY_INVALID"}));
  EXPECT_EQ(bad_key.at("error").at("details").at(0).at("reason"), "API_KEY_INVALID");
  EXPECT_TRUE(gemini_json(f.stream_error(text_answer(), "")).as_object().contains("error"));
}

}  // namespace
}  // namespace bc::mockllm
