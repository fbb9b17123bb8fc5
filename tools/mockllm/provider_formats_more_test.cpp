// Framing of the formats beyond OpenAI's text answers, part two: the Ollama, Baidu (v2 and
// legacy) and Spark shapes.
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

TEST(OllamaFormat, KeyIsOptionalAndStreamDefaultsToTrue) {
  const auto& f = ollama_format();
  Call anonymous{.body = R"({"model":"llama3.2","messages":[{"role":"user","content":"hi"}]})"};
  EXPECT_EQ(*f.api_key(anonymous.request()), "ollama");
  Call keyed{.headers = {{"Authorization", "Bearer o1;tokens=2"}}};
  EXPECT_EQ(*f.api_key(keyed.request()), "o1;tokens=2");
  const auto call = f.parse(anonymous.request());
  ASSERT_TRUE(call.ok());
  EXPECT_TRUE(call->stream);
  EXPECT_EQ(call->model, "llama3.2");
}

TEST(OllamaFormat, NdjsonLinesEndWithADoneLineCarryingCounts) {
  const auto a = text_answer();
  const auto& f = ollama_format();
  EXPECT_EQ(f.stream_content_type(), "application/x-ndjson");
  std::string text;
  for (std::size_t i = 0; i < f.stream_piece_count(a); ++i) {
    const auto line = ndjson(f.stream_piece(a, i));
    EXPECT_EQ(line.at("done"), false);
    EXPECT_EQ(line.at("created_at"), "2023-11-14T22:13:20Z");
    text += line.at("message").at("content").as_string();
  }
  EXPECT_EQ(text, a.text());
  const auto close = f.stream_close(a);
  ASSERT_EQ(close.size(), 1u);
  const auto last = ndjson(close[0]);
  EXPECT_EQ(last.at("done"), true);
  EXPECT_EQ(last.at("done_reason"), "stop");
  EXPECT_EQ(last.at("prompt_eval_count"), 3);
  EXPECT_EQ(last.at("eval_count"), 5);
  const auto whole = json::parse(f.completion(a));
  EXPECT_EQ(whole.at("message").at("content").as_string(), a.text());
  EXPECT_EQ(whole.at("done"), true);
  const auto missing = json::parse(f.error_body({.status = 404}));
  EXPECT_NE(missing.at("error").as_string().subview().find("not found"), std::string_view::npos);
  EXPECT_TRUE(ndjson(f.stream_error(a, "")).at("error").is_string());
}

TEST(OllamaFormat, ToolCallHasArgumentsObject) {
  const auto a = tool_answer();
  const auto& f = ollama_format();
  ASSERT_EQ(f.stream_piece_count(a), 1u);
  const auto line = ndjson(f.stream_piece(a, 0));
  const auto& function = line.at("message").at("tool_calls").at(0).at("function");
  EXPECT_EQ(function.at("name"), "get_weather");
  EXPECT_EQ(function.at("arguments").at("city"), "Paris");
}

TEST(BaiduV2Format, IsOpenAiShapedWithQianfanErrors) {
  const auto& f = baidu_v2_format();
  EXPECT_TRUE(f.new_id(3).starts_with("as-"));
  const auto a = text_answer();
  EXPECT_EQ(json::parse(f.completion(a)).at("object"), "chat.completion");
  const auto error = json::parse(f.error_body({.status = 429}));
  EXPECT_EQ(error.at("error").at("code"), "rpm_rate_limit_exceeded");
  EXPECT_EQ(error.at("error").at("type"), "rate_limit_exceeded");
  EXPECT_TRUE(error.at("id").is_string());
  EXPECT_EQ(json::parse(f.error_body({.status = 401})).at("error").at("code"), "invalid_iam_token");
  EXPECT_EQ(json::parse(f.error_body({.status = 429, .code = "tpm_rate_limit_exceeded"}))
                .at("error")
                .at("code"),
            "tpm_rate_limit_exceeded");
  EXPECT_TRUE(sse_json(f.stream_error(a, "")).as_object().contains("error"));
}

TEST(BaiduLegacy, TokenExchangeIssuesATokenThatCarriesTheKey) {
  const auto reply = baidu_token_exchange(
      "/oauth/2.0/token?grant_type=client_credentials&client_id=b1%3Btoken_ttl%3D60"
      "&client_secret=s",
      "", 1000);
  ASSERT_EQ(reply.status, 200) << reply.body;
  EXPECT_EQ(reply.api_key, "b1;token_ttl=60");
  const auto doc = json::parse(reply.body);
  EXPECT_EQ(doc.at("expires_in"), 60);
  const std::string token(doc.at("access_token").as_string());
  EXPECT_EQ(token, baidu_access_token("b1;token_ttl=60", 60, 1060));

  const auto& f = baidu_legacy_format();
  Call chat{.target = "/rpc/2.0/ai_custom/v1/wenxinworkshop/chat/ernie?access_token=" + token,
            .now = 1059};
  EXPECT_EQ(*f.api_key(chat.request()), "b1;token_ttl=60");
  chat.now = 1060;
  EXPECT_EQ(f.api_key(chat.request()).error().code, "111");
  Call bogus{.target = "/rpc/2.0/ai_custom/v1/wenxinworkshop/chat/ernie?access_token=24.zz"};
  EXPECT_EQ(f.api_key(bogus.request()).error().code, "110");
  Call missing{.target = "/rpc/2.0/ai_custom/v1/wenxinworkshop/chat/ernie"};
  EXPECT_EQ(f.api_key(missing.request()).error().code, "100");
}

TEST(BaiduLegacy, TokenExchangeFailsLikeBaidu) {
  const auto no_secret =
      baidu_token_exchange("/oauth/2.0/token?grant_type=client_credentials&client_id=b1", "", 0);
  EXPECT_EQ(no_secret.status, 401);
  EXPECT_EQ(json::parse(no_secret.body).at("error"), "invalid_client");
  EXPECT_TRUE(no_secret.api_key.empty());
  EXPECT_EQ(baidu_token_exchange("/oauth/2.0/token?client_id=b1&client_secret=s", "", 0).status,
            401);
  EXPECT_EQ(baidu_token_exchange(
                "/oauth/2.0/token?grant_type=client_credentials&client_id=b1%3Bstatus%3D401"
                "&client_secret=s",
                "", 0)
                .status,
            401);
  // A form-encoded body works as well as the query.
  EXPECT_EQ(baidu_token_exchange("/oauth/2.0/token",
                                 "grant_type=client_credentials&client_id=b1&client_secret=s", 0)
                .status,
            200);
}

TEST(BaiduLegacy, ParsesEndpointAndEnforcesMessageRules) {
  const auto& f = baidu_legacy_format();
  Call call{.target = "/rpc/2.0/ai_custom/v1/wenxinworkshop/chat/ernie-speed-128k?access_token=t",
            .body = R"({"system":"be brief","stream":true,
                        "messages":[{"role":"user","content":"hi there"}],
                        "functions":[{"name":"get_weather"}]})"};
  const auto parsed = f.parse(call.request());
  ASSERT_TRUE(parsed.ok()) << parsed.error().message;
  EXPECT_EQ(parsed->model, "ernie-speed-128k");
  EXPECT_TRUE(parsed->stream);
  EXPECT_EQ(parsed->prompt_tokens, 4);
  EXPECT_EQ(parsed->first_tool, "get_weather");
  call.body = R"({"messages":[{"role":"user","content":"a"},{"role":"assistant","content":"b"}]})";
  EXPECT_FALSE(f.parse(call.request()).ok());
  call.body = R"({"messages":[{"role":"system","content":"a"}]})";
  EXPECT_FALSE(f.parse(call.request()).ok());
}

TEST(BaiduLegacy, StreamEndsWithIsEndAndErrorsComeWithHttp200) {
  const auto a = text_answer();
  const auto& f = baidu_legacy_format();
  std::string text;
  for (std::size_t i = 0; i < f.stream_piece_count(a); ++i) {
    const auto chunk = sse_json(f.stream_piece(a, i));
    EXPECT_EQ(chunk.at("sentence_id"), i);
    EXPECT_EQ(chunk.at("is_end"), false);
    EXPECT_EQ(chunk.at("usage").at("completion_tokens"), 0);
    text += chunk.at("result").as_string();
  }
  EXPECT_EQ(text, a.text());
  const auto close = f.stream_close(a);
  ASSERT_EQ(close.size(), 1u);
  const auto last = sse_json(close[0]);
  EXPECT_EQ(last.at("is_end"), true);
  EXPECT_EQ(last.at("result"), "");
  EXPECT_EQ(last.at("usage").at("completion_tokens"), 5);
  EXPECT_EQ(json::parse(f.completion(a)).at("result").as_string(), a.text());

  EXPECT_EQ(f.error_http_status(429), 200);
  EXPECT_EQ(json::parse(f.error_body({.status = 401})).at("error_code"), 110);
  EXPECT_EQ(json::parse(f.error_body({.status = 429})).at("error_code"), 336501);
  const auto forced = json::parse(f.error_body({.status = 429, .code = "18"}));
  EXPECT_EQ(forced.at("error_code"), 18);
  EXPECT_EQ(forced.at("error_msg"), "Open api qps request limit reached");

  const auto tool = tool_answer();
  ASSERT_EQ(f.stream_piece_count(tool), 1u);
  const auto call = sse_json(f.stream_piece(tool, 0)).at("function_call");
  EXPECT_EQ(call.at("name"), "get_weather");
  EXPECT_EQ(call.at("arguments").as_string(), kToolArguments);
  EXPECT_EQ(json::parse(f.completion(tool)).at("finish_reason"), "function_call");
}

TEST(SparkFormat, CarriesCodeAndSidAndUsageOnTheLastContentChunk) {
  const auto a = text_answer();
  const auto& f = spark_format();
  const auto whole = json::parse(f.completion(a)).as_object();
  EXPECT_EQ(whole.at("code"), 0);
  EXPECT_EQ(whole.at("sid"), "id-1");
  EXPECT_FALSE(whole.contains("id"));
  EXPECT_EQ(whole.at("choices").at(0).at("message").at("content").as_string(), a.text());
  std::string text;
  for (std::size_t i = 0; i < f.stream_piece_count(a); ++i) {
    const auto chunk = sse_json(f.stream_piece(a, i)).as_object();
    EXPECT_EQ(chunk.at("code"), 0);
    EXPECT_EQ(chunk.contains("usage"), i == 4);
    text += chunk.at("choices").at(0).at("delta").at("content").as_string();
  }
  EXPECT_EQ(text, a.text());
  const auto close = f.stream_close(a);
  ASSERT_EQ(close.size(), 1u);
  EXPECT_EQ(close[0], "data: [DONE]\n\n");

  EXPECT_EQ(json::parse(f.error_body({.status = 429})).at("code"), 11202);
  EXPECT_EQ(json::parse(f.error_body({.status = 500, .code = "10014"})).at("code"), 10014);
  EXPECT_NE(sse_json(f.stream_error(a, "")).at("code"), 0);
  const auto tool = sse_json(f.stream_piece(tool_answer(), 0));
  EXPECT_EQ(tool.at("choices")
                .at(0)
                .at("delta")
                .at("tool_calls")
                .at(0)
                .at("function")
                .at("arguments")
                .as_string(),
            kToolArguments);
}

}  // namespace
}  // namespace bc::mockllm
