// The real mockllm binary speaking the other providers' formats: answers, streams, tool calls
// and errors of each, and the fault options in every format.
#include <gtest/gtest.h>

#include "mockllm_test_support.h"

namespace bc::mockllm::testing_mockllm {
namespace {

TEST_F(MockLlmProviders, AnthropicAnswersAMessageAndStreamsNamedEvents) {
  const auto whole = provider_chat(Provider::kAnthropic, "ant", false, false, "claude-x");
  ASSERT_EQ(whole.status, 200) << whole.body;
  const auto doc = json::parse(whole.body);
  EXPECT_EQ(doc.at("type"), "message");
  EXPECT_EQ(doc.at("content").at(0).at("text"), "Hello from claude-x via ant");
  EXPECT_EQ(doc.at("usage").at("input_tokens"), 3);
  EXPECT_EQ(doc.at("usage").at("output_tokens"), 5);

  const auto stream = provider_chat(Provider::kAnthropic, "ant;gap=1", true, false, "claude-x");
  ASSERT_EQ(stream.status, 200);
  EXPECT_TRUE(stream.complete);
  const auto events = named_events(stream.body);
  ASSERT_GE(events.size(), 4u);
  EXPECT_EQ(events.front().first, "message_start");
  EXPECT_EQ(events.back().first, "message_stop");
  std::string text;
  for (const auto& [name, payload] : events) {
    EXPECT_EQ(payload.at("type").as_string(), name);
    if (name == "content_block_delta") text += payload.at("delta").at("text").as_string();
  }
  EXPECT_EQ(text, "Hello from claude-x via ant");
  EXPECT_EQ(key_stats("ant").at("completed"), 2);
}

TEST_F(MockLlmProviders, AnthropicErrorsAre529OverloadedAnd429WithRetryAfterAndAnErrorEvent) {
  const auto overloaded = provider_chat(Provider::kAnthropic, "ant;status=529", false);
  EXPECT_EQ(overloaded.status, 529);
  EXPECT_EQ(json::parse(overloaded.body).at("error").at("type"), "overloaded_error");

  const auto limited = provider_chat(Provider::kAnthropic, "ant;status=429;retry_after=4", true);
  EXPECT_EQ(limited.status, 429);
  EXPECT_EQ(limited.headers["retry-after"], "4");
  EXPECT_EQ(json::parse(limited.body).at("error").at("type"), "rate_limit_error");

  const auto anonymous = provider_chat(Provider::kAnthropic, "", false);
  EXPECT_EQ(anonymous.status, 401);
  EXPECT_EQ(json::parse(anonymous.body).at("error").at("type"), "authentication_error");

  const auto broken = provider_chat(Provider::kAnthropic, "ant;error_in_stream;gap=1", true);
  EXPECT_EQ(broken.status, 200);
  EXPECT_TRUE(broken.complete);
  const auto events = named_events(broken.body);
  ASSERT_FALSE(events.empty());
  EXPECT_EQ(events.back().first, "error");
  EXPECT_EQ(events.back().second.at("error").at("type"), "overloaded_error");
}

TEST_F(MockLlmProviders, AnthropicToolUseStreamsInputJsonDeltas) {
  const auto whole = provider_chat(Provider::kAnthropic, "ant;tool_call", false, true);
  ASSERT_EQ(whole.status, 200);
  const auto doc = json::parse(whole.body);
  EXPECT_EQ(doc.at("stop_reason"), "tool_use");
  EXPECT_EQ(doc.at("content").at(0).at("name"), "get_weather");
  EXPECT_EQ(doc.at("content").at(0).at("input").at("city"), "Paris");

  const auto stream = provider_chat(Provider::kAnthropic, "ant;tool_call;gap=1", true, true);
  std::string input;
  int fragments = 0;
  std::string stop_reason;
  for (const auto& [name, payload] : named_events(stream.body)) {
    if (name == "content_block_delta") {
      EXPECT_EQ(payload.at("delta").at("type"), "input_json_delta");
      input += payload.at("delta").at("partial_json").as_string();
      ++fragments;
    }
    if (name == "message_delta") stop_reason = payload.at("delta").at("stop_reason").as_string();
  }
  EXPECT_GE(fragments, 2);
  EXPECT_EQ(json::parse(input).at("city"), "Paris");
  EXPECT_EQ(stop_reason, "tool_use");

  // Without tools in the request the option changes nothing.
  const auto plain = provider_chat(Provider::kAnthropic, "ant;tool_call", false, false);
  EXPECT_EQ(json::parse(plain.body).at("content").at(0).at("type"), "text");
}

TEST_F(MockLlmProviders, GeminiAnswersAndStreamsCrlfEventsThatEndByClosing) {
  const auto whole = provider_chat(Provider::kGemini, "gem", false, false, "gemini-2.5-flash");
  ASSERT_EQ(whole.status, 200) << whole.body;
  const auto doc = json::parse(whole.body);
  EXPECT_EQ(doc.at("candidates").at(0).at("content").at("parts").at(0).at("text"),
            "Hello from gemini-2.5-flash via gem");
  EXPECT_EQ(doc.at("candidates").at(0).at("finishReason"), "STOP");
  EXPECT_EQ(doc.at("usageMetadata").at("totalTokenCount"), 8);

  // The key in the query, percent-encoded, options included.
  const auto stream =
      provider_chat(Provider::kGemini, "gem;gap=1;tokens=3", true, false, "gemini-2.5-flash");
  ASSERT_EQ(stream.status, 200) << stream.body;
  EXPECT_TRUE(stream.complete);
  EXPECT_TRUE(stream.body.ends_with("\r\n\r\n"));
  const auto events = split_events(stream.body, "\r\n\r\n");
  ASSERT_EQ(events.size(), 3u);
  std::string text;
  for (const auto& event : events) {
    ASSERT_TRUE(event.starts_with("data: "));
    text += json::parse(event.substr(6))
                .at("candidates")
                .at(0)
                .at("content")
                .at("parts")
                .at(0)
                .at("text")
                .as_string();
  }
  EXPECT_EQ(text, "Hello from gemini-2.5-flash");
  EXPECT_EQ(json::parse(events[2].substr(6)).at("candidates").at(0).at("finishReason"), "STOP");
  EXPECT_EQ(key_stats("gem").at("requests"), 2);
}

TEST_F(MockLlmProviders, GeminiRateLimitCarriesRetryDelayInTheBody) {
  const auto limited = provider_chat(Provider::kGemini, "gem;status=429;retry_after=46", false);
  EXPECT_EQ(limited.status, 429);
  EXPECT_EQ(limited.headers.count(http::field::retry_after), 0u);
  const auto error = json::parse(limited.body).at("error");
  EXPECT_EQ(error.at("status"), "RESOURCE_EXHAUSTED");
  bool retry_delay = false;
  for (const auto& detail : error.at("details").as_array()) {
    if (detail.at("@type") == "type.googleapis.com/google.rpc.RetryInfo") {
      retry_delay = detail.at("retryDelay") == "46s";
    }
  }
  EXPECT_TRUE(retry_delay);
  const auto anonymous = provider_chat(Provider::kGemini, "", false);
  EXPECT_EQ(anonymous.status, 401);
}

TEST_F(MockLlmProviders, GeminiFunctionCallArrivesWhole) {
  const auto stream = provider_chat(Provider::kGemini, "gem;tool_call;gap=1", true, true);
  const auto events = split_events(stream.body, "\r\n\r\n");
  ASSERT_EQ(events.size(), 1u);
  const auto candidate = json::parse(events[0].substr(6)).at("candidates").at(0);
  EXPECT_EQ(candidate.at("finishReason"), "STOP");
  const auto call = candidate.at("content").at("parts").at(0).at("functionCall");
  EXPECT_EQ(call.at("name"), "get_weather");
  EXPECT_EQ(call.at("args").at("city"), "Paris");
}

TEST_F(MockLlmProviders, OllamaNeedsNoKeyAndStreamsNdjsonUntilDone) {
  const auto whole = provider_chat(Provider::kOllama, "", false, false, "llama3.2");
  ASSERT_EQ(whole.status, 200) << whole.body;
  const auto doc = json::parse(whole.body);
  EXPECT_EQ(doc.at("message").at("content"), "Hello from llama3.2 via ollama");
  EXPECT_EQ(doc.at("done"), true);
  EXPECT_EQ(doc.at("eval_count"), 5);
  EXPECT_EQ(key_stats("ollama").at("requests"), 1);

  const auto stream = provider_chat(Provider::kOllama, "oll;gap=1", true, false, "llama3.2");
  ASSERT_EQ(stream.status, 200);
  EXPECT_EQ(stream.headers[http::field::content_type], "application/x-ndjson");
  const auto lines = split_events(stream.body, "\n");
  ASSERT_EQ(lines.size(), 6u);
  std::string text;
  for (std::size_t i = 0; i < 5; ++i) {
    const auto line = json::parse(lines[i]);
    EXPECT_EQ(line.at("done"), false);
    text += line.at("message").at("content").as_string();
  }
  EXPECT_EQ(text, "Hello from llama3.2 via oll");
  const auto last = json::parse(lines[5]);
  EXPECT_EQ(last.at("done"), true);
  EXPECT_EQ(last.at("prompt_eval_count"), 3);
  EXPECT_EQ(last.at("eval_count"), 5);
}

TEST_F(MockLlmProviders, OllamaErrorsAreAnErrorStringAlsoMidStream) {
  const auto missing = provider_chat(Provider::kOllama, "oll;status=404", false);
  EXPECT_EQ(missing.status, 404);
  EXPECT_TRUE(json::parse(missing.body).at("error").is_string());
  const auto broken = provider_chat(Provider::kOllama, "oll;error_in_stream;gap=1", true);
  const auto lines = split_events(broken.body, "\n");
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_TRUE(json::parse(lines[1]).at("error").is_string());
}

TEST_F(MockLlmProviders, OllamaToolCallHasArgumentsObject) {
  const auto whole = provider_chat(Provider::kOllama, "oll;tool_call", false, true);
  const auto call = json::parse(whole.body).at("message").at("tool_calls").at(0).at("function");
  EXPECT_EQ(call.at("name"), "get_weather");
  EXPECT_EQ(call.at("arguments").at("city"), "Paris");
}

TEST_F(MockLlmProviders, BaiduV2IsOpenAiShapedWithItsErrorCodesAlsoWithHttp200) {
  const auto whole = provider_chat(Provider::kBaiduV2, "bv2", false, false, "ernie-speed-128k");
  ASSERT_EQ(whole.status, 200) << whole.body;
  const auto doc = json::parse(whole.body);
  EXPECT_TRUE(doc.at("id").as_string().starts_with("as-"));
  EXPECT_EQ(doc.at("choices").at(0).at("message").at("content"),
            "Hello from ernie-speed-128k via bv2");
  const auto stream = provider_chat(Provider::kBaiduV2, "bv2;gap=1", true);
  EXPECT_EQ(sse_payloads(stream.body).back(), "[DONE]");

  const auto limited =
      provider_chat(Provider::kBaiduV2, "bv2;status=429;code=tpm_rate_limit_exceeded", false);
  EXPECT_EQ(limited.status, 429);
  EXPECT_EQ(json::parse(limited.body).at("error").at("code"), "tpm_rate_limit_exceeded");
  const auto in_200 = provider_chat(Provider::kBaiduV2, "bv2;status=429;error_200", false);
  EXPECT_EQ(in_200.status, 200);
  EXPECT_EQ(json::parse(in_200.body).at("error").at("code"), "rpm_rate_limit_exceeded");
}

TEST_F(MockLlmProviders, BaiduV2ToolCallStreamsArgumentFragments) {
  const auto stream = provider_chat(Provider::kBaiduV2, "bv2;tool_call;gap=1", true, true);
  std::string arguments;
  std::string finish;
  for (const auto& payload : sse_payloads(stream.body)) {
    if (payload == "[DONE]") continue;
    const auto choice = json::parse(payload).at("choices").at(0);
    if (const auto* calls = choice.at("delta").as_object().if_contains("tool_calls")) {
      arguments += calls->at(0).at("function").at("arguments").as_string();
    }
    if (choice.at("finish_reason").is_string()) finish = choice.at("finish_reason").as_string();
  }
  EXPECT_EQ(json::parse(arguments).at("city"), "Paris");
  EXPECT_EQ(finish, "tool_calls");
}

TEST_F(MockLlmProviders, BaiduLegacyExchangesTokensAndStreamsUntilIsEnd) {
  const auto whole = provider_chat(Provider::kBaiduLegacy, "bl", false, false, "ernie-lite-8k");
  ASSERT_EQ(whole.status, 200) << whole.body;
  EXPECT_EQ(json::parse(whole.body).at("result"), "Hello from ernie-lite-8k via bl");

  const auto stream = provider_chat(Provider::kBaiduLegacy, "bl;gap=1", true);
  ASSERT_EQ(stream.status, 200);
  EXPECT_TRUE(stream.complete);
  const auto events = sse_payloads(stream.body);
  ASSERT_EQ(events.size(), 6u);
  const auto last = json::parse(events.back());
  EXPECT_EQ(last.at("is_end"), true);
  EXPECT_EQ(last.at("usage").at("completion_tokens"), 5);
  EXPECT_EQ(stream.body.find("[DONE]"), std::string::npos);

  const auto stats = key_stats("bl");
  EXPECT_EQ(stats.at("requests"), 2);
  EXPECT_EQ(stats.at("tokens_issued"), 2);
}

TEST_F(MockLlmProviders, BaiduLegacyErrorsComeWithHttp200AndTokensExpire) {
  const auto limited = provider_chat(Provider::kBaiduLegacy, "bl;status=429;code=18", false);
  EXPECT_EQ(limited.status, 200);
  EXPECT_EQ(json::parse(limited.body).at("error_code"), 18);

  // An expired token is 111 and is not counted (no key to count it under).
  const auto expired = provider_chat(Provider::kBaiduLegacy, "old;token_ttl=0", false);
  EXPECT_EQ(expired.status, 200);
  EXPECT_EQ(json::parse(expired.body).at("error_code"), 111);
  const auto bogus = run(
      fetch(mock_.port(),
            make_request(http::verb::post,
                         "/rpc/2.0/ai_custom/v1/wenxinworkshop/chat/m?access_token=24.abc.1.2.x",
                         "", R"({"messages":[{"role":"user","content":"hi"}]})")));
  EXPECT_EQ(json::parse(bogus.body).at("error_code"), 110);
  EXPECT_EQ(key_stats("old").at("requests"), 0);

  // A credential wrong for good fails at the exchange.
  const auto refused = run(fetch(
      mock_.port(),
      make_request(http::verb::post,
                   "/oauth/2.0/token?grant_type=client_credentials&client_id=bad%3Bstatus%3D401"
                   "&client_secret=s",
                   "", "")));
  EXPECT_EQ(refused.status, 401);
  EXPECT_EQ(json::parse(refused.body).at("error"), "invalid_client");
}

TEST_F(MockLlmProviders, BaiduLegacyFunctionCall) {
  const auto whole = provider_chat(Provider::kBaiduLegacy, "bl;tool_call", false, true);
  const auto doc = json::parse(whole.body);
  EXPECT_EQ(doc.at("finish_reason"), "function_call");
  EXPECT_EQ(doc.at("function_call").at("name"), "get_weather");
  EXPECT_EQ(json::parse(doc.at("function_call").at("arguments").as_string()).at("city"), "Paris");
}

TEST_F(MockLlmProviders, SparkCarriesCodeAndSidAndReportsErrorsAsCodes) {
  const auto whole = provider_chat(Provider::kSpark, "spk", false, false, "lite");
  ASSERT_EQ(whole.status, 200) << whole.body;
  const auto doc = json::parse(whole.body);
  EXPECT_EQ(doc.at("code"), 0);
  EXPECT_EQ(doc.at("choices").at(0).at("message").at("content"), "Hello from lite via spk");

  const auto stream = provider_chat(Provider::kSpark, "spk;gap=1", true, false, "lite");
  const auto events = sse_payloads(stream.body);
  ASSERT_EQ(events.size(), 6u);
  EXPECT_EQ(json::parse(events[4]).at("usage").at("completion_tokens"), 5);
  EXPECT_EQ(events[5], "[DONE]");

  const auto limited = provider_chat(Provider::kSpark, "spk;status=429", false);
  EXPECT_EQ(limited.status, 429);
  EXPECT_EQ(json::parse(limited.body).at("code"), 11202);
  const auto filtered =
      provider_chat(Provider::kSpark, "spk;error_in_stream;code=10014;gap=1", true);
  const auto broken = sse_payloads(filtered.body);
  ASSERT_EQ(broken.size(), 2u);
  EXPECT_EQ(json::parse(broken[1]).at("code"), 10014);
}

TEST_F(MockLlmProviders, SparkToolCall) {
  const auto whole = provider_chat(Provider::kSpark, "spk;tool_call", false, true);
  const auto call =
      json::parse(whole.body).at("choices").at(0).at("message").at("tool_calls").at(0);
  EXPECT_EQ(call.at("function").at("name"), "get_weather");
  EXPECT_EQ(json::parse(call.at("function").at("arguments").as_string()).at("city"), "Paris");
}

TEST_F(MockLlmProviders, ZhipuToolCallArrivesWholeWithFinishReason) {
  auto body = json::parse(chat_body(true, "glm-4-flash")).as_object();
  body["tools"] = json::array{{{"type", "function"}, {"function", {{"name", "get_weather"}}}}};
  const auto stream =
      post("/api/paas/v4/chat/completions", "glm;tool_call;gap=1", json::serialize(body));
  const auto events = sse_payloads(stream.body);
  ASSERT_EQ(events.size(), 3u);  // the call, the final chunk with usage, [DONE]
  const auto choice = json::parse(events[0]).at("choices").at(0);
  EXPECT_EQ(choice.at("finish_reason"), "tool_calls");
  EXPECT_EQ(choice.at("delta").at("tool_calls").at(0).at("function").at("arguments"),
            R"({"city":"Paris"})");
}

TEST_F(MockLlmProviders, OpenAiToolCallStreamsArgumentsInFragments) {
  auto body = json::parse(chat_body(true)).as_object();
  body["tools"] = json::array{{{"type", "function"}, {"function", {{"name", "get_weather"}}}}};
  const auto stream = post("/v1/chat/completions", "oai;tool_call;gap=1", json::serialize(body));
  int fragments = 0;
  std::string arguments;
  for (const auto& payload : sse_payloads(stream.body)) {
    if (payload == "[DONE]") continue;
    const auto delta = json::parse(payload).at("choices").at(0).at("delta").as_object();
    if (const auto* calls = delta.if_contains("tool_calls")) {
      const auto piece = calls->at(0).at("function").at("arguments").as_string();
      if (!piece.empty()) ++fragments;
      arguments += piece;
    }
  }
  EXPECT_GE(fragments, 2);
  EXPECT_EQ(arguments, R"({"city":"Paris"})");
}

// Every fault option works in every new format: delay, pieces, errors by status and fail_first,
// cuts, malformed bodies and in-stream errors, counted per key name.
TEST_F(MockLlmProviders, FaultOptionsWorkInEveryFormat) {
  for (const auto p : {Provider::kAnthropic, Provider::kGemini, Provider::kOllama,
                       Provider::kBaiduV2, Provider::kBaiduLegacy, Provider::kSpark}) {
    SCOPED_TRACE(provider_name(p));
    const std::string name = "f_" + provider_name(p);
    const bool errors_in_200 = p == Provider::kBaiduLegacy;

    const auto failing = name + ";fail_first=1;status=503";
    const auto first = provider_chat(p, failing, false);
    EXPECT_EQ(first.status, errors_in_200 ? 200 : 503);
    EXPECT_TRUE(is_json(first.body));
    EXPECT_EQ(first.body.find("Hello"), std::string::npos);
    EXPECT_EQ(provider_chat(p, failing, false).status, 200);

    const auto start = Clock::now();
    const auto slow = provider_chat(p, name + ";latency=200;tokens=2", false);
    EXPECT_GE(Clock::now() - start, 200ms);
    EXPECT_EQ(slow.status, 200);
    EXPECT_NE(slow.body.find("Hello from"), std::string::npos);
    EXPECT_EQ(slow.body.find("via"), std::string::npos);  // cut to 2 pieces

    const auto cut = provider_chat(p, name + ";cut_after=1;gap=1", true);
    EXPECT_EQ(cut.status, 200);
    EXPECT_FALSE(cut.complete);
    EXPECT_EQ(cut.body.find(" from"), std::string::npos);

    const auto cut_whole = provider_chat(p, name + ";cut_after=0", false);
    EXPECT_FALSE(cut_whole.complete);

    const auto malformed = provider_chat(p, name + ";malformed", false);
    EXPECT_EQ(malformed.status, 200);
    EXPECT_FALSE(is_json(malformed.body));

    // One event more than the same stream without the option.
    const auto lines = [](const Reply& r) {
      return std::count(r.body.begin(), r.body.end(), '\n');
    };
    const auto normal_stream = provider_chat(p, name + ";gap=1", true);
    const auto malformed_stream = provider_chat(p, name + ";malformed;gap=1", true);
    EXPECT_TRUE(malformed_stream.complete);
    EXPECT_GT(lines(malformed_stream), lines(normal_stream));

    const auto in_stream = provider_chat(p, name + ";error_in_stream;gap=1", true);
    EXPECT_TRUE(in_stream.complete);
    EXPECT_NE(in_stream.body.find("Hello"), std::string::npos);
    EXPECT_EQ(in_stream.body.find(" from"), std::string::npos);
    EXPECT_NE(in_stream.body.find("rror"), std::string::npos);  // error / error_code

    const auto key = key_stats(name);
    EXPECT_EQ(key.at("requests"), 9);
    EXPECT_EQ(key.at("completed"), 9);
    EXPECT_EQ(key.at("client_closed"), 0);
  }
}

// /_mock/stats after `delay`. A free function, not a capturing lambda: the lambda object

}  // namespace
}  // namespace bc::mockllm::testing_mockllm
