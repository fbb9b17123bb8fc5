// The real mockllm binary speaking OpenAI and Zhipu: answers, streams, and the faults a key
// asks for.
#include <gtest/gtest.h>

#include "mockllm_test_support.h"

namespace bc::mockllm::testing_mockllm {
namespace {

TEST_F(MockLlm, OpenAiNonStreamAnswersWithModelKeyAndUsage) {
  const auto reply = chat("alpha;tokens=6", false);
  ASSERT_EQ(reply.status, 200);
  EXPECT_TRUE(reply.complete);
  EXPECT_EQ(reply.headers[http::field::content_type], "application/json");
  const auto doc = json::parse(reply.body).as_object();
  EXPECT_EQ(doc.at("object"), "chat.completion");
  EXPECT_EQ(doc.at("model"), "gpt-test");
  EXPECT_EQ(doc.at("choices").at(0).at("message").at("content"), "Hello from gpt-test via alpha.");
  EXPECT_EQ(doc.at("usage").at("completion_tokens"), 6);
  EXPECT_EQ(doc.at("usage").at("prompt_tokens"), 3);
  EXPECT_EQ(doc.at("usage").at("total_tokens"), 9);
}

TEST_F(MockLlm, OpenAiStreamSendsRoleChunkPiecesFinishUsageAndDone) {
  const auto reply = chat("beta;gap=1", true, true);
  ASSERT_EQ(reply.status, 200);
  EXPECT_TRUE(reply.complete);
  EXPECT_TRUE(reply.headers[http::field::content_type].starts_with("text/event-stream"));
  const auto events = sse_payloads(reply.body);
  // role, 5 pieces, finish, usage, [DONE]
  ASSERT_EQ(events.size(), 9u);
  EXPECT_EQ(json::parse(events[0]).at("choices").at(0).at("delta").at("role"), "assistant");
  std::string text;
  for (std::size_t i = 1; i <= 5; ++i) {
    const auto chunk = json::parse(events[i]);
    EXPECT_EQ(chunk.at("object"), "chat.completion.chunk");
    text += chunk.at("choices").at(0).at("delta").at("content").as_string();
  }
  EXPECT_EQ(text, "Hello from gpt-test via beta");
  EXPECT_EQ(json::parse(events[6]).at("choices").at(0).at("finish_reason"), "stop");
  EXPECT_EQ(json::parse(events[7]).at("usage").at("completion_tokens"), 5);
  EXPECT_EQ(events[8], "[DONE]");

  // The non-stream content is the concatenation of the deltas.
  const auto whole = json::parse(chat("beta", false).body);
  EXPECT_EQ(whole.at("choices").at(0).at("message").at("content").as_string(), text);
}

TEST_F(MockLlm, RateLimitedKeyGets429WithRetryAfterInOpenAiShape) {
  const auto reply = chat("limited;status=429;retry_after=7", false);
  EXPECT_EQ(reply.status, 429);
  EXPECT_EQ(reply.headers[http::field::retry_after], "7");
  const auto error = json::parse(reply.body).at("error");
  EXPECT_EQ(error.at("code"), "rate_limit_exceeded");
  EXPECT_TRUE(error.at("message").is_string());

  const auto without_hint = chat("limited;status=429", true);
  EXPECT_EQ(without_hint.status, 429);
  EXPECT_EQ(without_hint.headers.count(http::field::retry_after), 0u);
  EXPECT_EQ(key_stats("limited").at("completed"), 2u);
}

TEST_F(MockLlm, MissingBearerKeyIs401AndMissingMessagesIs400) {
  const auto anonymous = post("/v1/chat/completions", "", chat_body(false));
  EXPECT_EQ(anonymous.status, 401);
  EXPECT_EQ(json::parse(anonymous.body).at("error").at("code"), "invalid_api_key");

  const auto no_messages = post("/v1/chat/completions", "k", R"({"model":"m"})");
  EXPECT_EQ(no_messages.status, 400);
  EXPECT_TRUE(json::parse(no_messages.body).at("error").at("message").is_string());

  const auto zhipu = post("/api/paas/v4/chat/completions", "k", "not json");
  EXPECT_EQ(zhipu.status, 400);
  EXPECT_TRUE(json::parse(zhipu.body).at("error").at("code").is_string());
}

TEST_F(MockLlm, CutStreamStopsAfterTheGivenChunksWithoutDone) {
  const auto reply = chat("cutter;cut_after=2;gap=1", true);
  EXPECT_EQ(reply.status, 200);
  EXPECT_FALSE(reply.complete);
  const auto events = sse_payloads(reply.body);
  ASSERT_EQ(events.size(), 3u);  // role + 2 pieces
  EXPECT_EQ(json::parse(events[2]).at("choices").at(0).at("delta").at("content"), " from");
  EXPECT_EQ(reply.body.find("[DONE]"), std::string::npos);
  // A deliberate cut is the mock's answer, not the client going away.
  const auto key = key_stats("cutter");
  EXPECT_EQ(key.at("completed"), 1u);
  EXPECT_EQ(key.at("client_closed"), 0u);
}

TEST_F(MockLlm, CutNonStreamDeliversLessThanItsContentLength) {
  const auto reply = chat("cutter;cut_after=0", false);
  EXPECT_EQ(reply.status, 200);
  EXPECT_FALSE(reply.complete);
  const auto announced = std::stoul(std::string(reply.headers[http::field::content_length]));
  EXPECT_LT(reply.body.size(), announced);
  EXPECT_GT(reply.body.size(), 0u);
}

TEST_F(MockLlm, MalformedNonStreamIs200WithABodyThatIsNotJson) {
  const auto reply = chat("broken;malformed", false);
  EXPECT_EQ(reply.status, 200);
  EXPECT_TRUE(reply.complete);
  EXPECT_FALSE(reply.body.empty());
  EXPECT_FALSE(is_json(reply.body));
}

TEST_F(MockLlm, MalformedStreamHasOneBrokenDataLineAfterTheFirstPiece) {
  const auto reply = chat("broken;malformed;gap=1", true);
  EXPECT_EQ(reply.status, 200);
  const auto events = sse_payloads(reply.body);
  ASSERT_GE(events.size(), 4u);
  EXPECT_TRUE(is_json(events[1]));
  EXPECT_FALSE(is_json(events[2]));
  EXPECT_TRUE(is_json(events[3]));
  EXPECT_EQ(events.back(), "[DONE]");
}

TEST_F(MockLlm, ErrorInStreamSendsAnErrorEventAndNoDone) {
  const auto reply = chat("flaky;error_in_stream;gap=1", true);
  EXPECT_EQ(reply.status, 200);
  EXPECT_TRUE(reply.complete);
  const auto events = sse_payloads(reply.body);
  ASSERT_EQ(events.size(), 3u);  // role, first piece, error
  EXPECT_TRUE(json::parse(events[2]).as_object().contains("error"));
}

TEST_F(MockLlm, FailFirstFailsTheFirstRequestsOfTheKeyNameOnly) {
  EXPECT_EQ(chat("warmup;fail_first=2;status=503", false).status, 503);
  EXPECT_EQ(chat("warmup;fail_first=2;status=503", true).status, 503);
  EXPECT_EQ(chat("warmup;fail_first=2;status=503", false).status, 200);
  EXPECT_EQ(chat("other;fail_first=1", false).status, 500);
  EXPECT_EQ(chat("other;fail_first=1", false).status, 200);
}

TEST_F(MockLlm, ZhipuSpeaksGlmShapes) {
  const auto whole =
      post("/api/paas/v4/chat/completions", "glmkey", chat_body(false, "glm-4-flash"));
  ASSERT_EQ(whole.status, 200);
  const auto doc = json::parse(whole.body).as_object();
  EXPECT_FALSE(doc.contains("object"));
  EXPECT_EQ(doc.at("request_id"), doc.at("id"));
  EXPECT_EQ(doc.at("choices").at(0).at("message").at("content"),
            "Hello from glm-4-flash via glmkey");

  const auto stream =
      post("/api/paas/v4/chat/completions", "glmkey;gap=1", chat_body(true, "glm-4-flash"));
  const auto events = sse_payloads(stream.body);
  ASSERT_EQ(events.size(), 7u);  // 5 pieces, final chunk with usage, [DONE]
  EXPECT_EQ(json::parse(events[0]).at("choices").at(0).at("delta").at("role"), "assistant");
  EXPECT_EQ(json::parse(events[5]).at("usage").at("completion_tokens"), 5);
  EXPECT_EQ(events[6], "[DONE]");

  const auto limited =
      post("/api/paas/v4/chat/completions", "glmkey;status=429", chat_body(false, "glm-4-flash"));
  EXPECT_EQ(limited.status, 429);
  EXPECT_EQ(json::parse(limited.body).at("error").at("code"), "1302");
}

}  // namespace
}  // namespace bc::mockllm::testing_mockllm
