#include "providers/upstream_error.h"

#include <gtest/gtest.h>

#include "providers/provider.h"

namespace bc::providers {
namespace {

using std::chrono::milliseconds;

constexpr std::string_view kRateLimitBody =
    R"({"error":{"message":"Rate limit reached for gpt-4o-mini on requests per min","type":"requests","param":null,"code":"rate_limit_exceeded"}})";
constexpr std::string_view kQuotaBody =
    R"({"error":{"message":"You exceeded your current quota","type":"insufficient_quota","param":null,"code":"insufficient_quota"}})";

Error classify(int status, std::string_view body, Headers headers = {}) {
  return classify_http("openai", status, headers, body);
}

TEST(ClassifyHttp, BadRequestsFailWithoutPunishingTheKey) {
  for (int status : {400, 404, 422}) {
    const Error e = classify(
        status, R"({"error":{"message":"bad thing","type":"invalid_request_error","code":null}})");
    EXPECT_EQ(e.kind, ErrorKind::kInvalidRequest) << status;
    EXPECT_FALSE(e.retryable) << status;
    EXPECT_EQ(e.key_action, KeyAction::kNone) << status;
    EXPECT_EQ(e.source, "upstream:openai");
    EXPECT_NE(e.message.find("bad thing"), std::string::npos) << e.message;
    EXPECT_NE(e.message.find(std::to_string(status)), std::string::npos) << e.message;
  }
  EXPECT_EQ(
      classify(400, R"({"error":{"message":"too long","code":"context_length_exceeded"}})").code,
      "context_length_exceeded");
  EXPECT_EQ(classify(404, R"({"error":{"message":"no such model"}})").code, "model_not_found");
}

TEST(ClassifyHttp, AuthenticationAndPermissionDisableTheKeyAndRetryElsewhere) {
  const Error auth = classify(401, R"({"error":{"message":"Incorrect API key provided"}})");
  EXPECT_EQ(auth.kind, ErrorKind::kAuthentication);
  EXPECT_TRUE(auth.retryable);
  EXPECT_EQ(auth.key_action, KeyAction::kDisable);
  EXPECT_EQ(auth.cooldown, milliseconds(0));  // no automatic re-enable for a bad credential
  const Error perm = classify(403, R"({"error":{"message":"region"}})");
  EXPECT_EQ(perm.kind, ErrorKind::kPermission);
  EXPECT_TRUE(perm.retryable);
  EXPECT_EQ(perm.key_action, KeyAction::kDisable);
}

TEST(ClassifyHttp, RateLimitCoolsTheKeyForRetryAfter) {
  const Error e = classify(429, kRateLimitBody, {{"Retry-After", "7"}});
  EXPECT_EQ(e.kind, ErrorKind::kRateLimited);
  EXPECT_TRUE(e.retryable);
  EXPECT_EQ(e.key_action, KeyAction::kCooldown);
  EXPECT_EQ(e.cooldown, milliseconds(7000));
  EXPECT_EQ(e.code, "rate_limit_exceeded");
  EXPECT_EQ(classify(429, kRateLimitBody, {{"retry-after", "1.5"}}).cooldown, milliseconds(1500));
  EXPECT_EQ(classify(429, kRateLimitBody, {{"retry-after-ms", "2500"}}).cooldown,
            milliseconds(2500));
}

TEST(ClassifyHttp, RateLimitWithoutUsableRetryAfterCoolsForTwentySeconds) {
  EXPECT_EQ(classify(429, kRateLimitBody).cooldown, kDefaultRateLimitCooldown);
  EXPECT_EQ(
      classify(429, kRateLimitBody, {{"Retry-After", "Wed, 21 Oct 2015 07:28:00 GMT"}}).cooldown,
      kDefaultRateLimitCooldown);
  EXPECT_EQ(classify(429, "").cooldown, milliseconds(20'000));
  EXPECT_EQ(classify(429, kRateLimitBody, {{"Retry-After", "999999"}}).cooldown, kMaxRetryAfter);
}

TEST(ClassifyHttp, InsufficientQuotaDisablesInsteadOfCoolingDown) {
  const Error e = classify(429, kQuotaBody, {{"Retry-After", "3"}});
  EXPECT_EQ(e.kind, ErrorKind::kRateLimited);
  EXPECT_EQ(e.code, "insufficient_quota");
  EXPECT_EQ(e.key_action, KeyAction::kDisable);
  EXPECT_EQ(e.cooldown, kBillingReprobe);
  EXPECT_TRUE(e.retryable);
  const Error moonshot =
      classify(429, R"({"error":{"message":"suspended","type":"exceeded_current_quota_error"}})");
  EXPECT_EQ(moonshot.key_action, KeyAction::kDisable);
  const Error deepseek = classify(402, R"({"error":{"message":"Insufficient Balance"}})");
  EXPECT_EQ(deepseek.key_action, KeyAction::kDisable);
  EXPECT_TRUE(deepseek.retryable);
}

TEST(ClassifyHttp, ProviderOverloadFailsOverWithoutKeyAction) {
  const Error e = classify(429, R"({"error":{"message":"busy","type":"engine_overloaded_error"}})");
  EXPECT_EQ(e.kind, ErrorKind::kUpstream);
  EXPECT_TRUE(e.retryable);
  EXPECT_EQ(e.key_action, KeyAction::kNone);
}

TEST(ClassifyHttp, ServerErrorsAreRetryableWithoutKeyAction) {
  for (int status : {500, 502, 503, 504, 529}) {
    const Error e = classify(status, R"({"error":{"message":"The server had an error"}})");
    EXPECT_EQ(e.kind, ErrorKind::kUpstream) << status;
    EXPECT_TRUE(e.retryable) << status;
    EXPECT_EQ(e.key_action, KeyAction::kNone) << status;
    EXPECT_EQ(e.status(), 502) << status;
    EXPECT_NE(e.message.find("The server had an error"), std::string::npos);
  }
  EXPECT_EQ(classify(503, "").code, "upstream_overloaded");
  EXPECT_EQ(classify(500, "").code, "upstream_error");
}

TEST(ClassifyHttp, NonJsonBodyBecomesAShortMessage) {
  const Error e = classify(502, "<html><body>Bad Gateway</body></html>");
  EXPECT_EQ(e.kind, ErrorKind::kUpstream);
  EXPECT_NE(e.message.find("Bad Gateway"), std::string::npos);
  EXPECT_LT(classify(502, std::string(100'000, 'x')).message.size(), 400u);
}

TEST(ClassifyHttp, ErrorInsideA200AnswerIsClassifiedByItsCodeOrType) {
  EXPECT_EQ(classify(200, kRateLimitBody).kind, ErrorKind::kRateLimited);
  EXPECT_EQ(classify(200, kQuotaBody).key_action, KeyAction::kDisable);
  // OpenRouter puts the HTTP status in error.code.
  const Error openrouter = classify(200, R"({"error":{"code":401,"message":"User not found."}})");
  EXPECT_EQ(openrouter.kind, ErrorKind::kAuthentication);
  // Older vLLM: a flat error object.
  const Error vllm =
      classify(200, R"({"object":"error","message":"bad","type":"BadRequestError","code":400})");
  EXPECT_EQ(vllm.kind, ErrorKind::kInvalidRequest);
  EXPECT_NE(vllm.message.find("reported an error: bad"), std::string::npos) << vllm.message;
  // Unknown: the upstream failed.
  const Error unknown = classify(200, R"({"error":{"message":"boom"}})");
  EXPECT_EQ(unknown.kind, ErrorKind::kUpstream);
  EXPECT_TRUE(unknown.retryable);
}

TEST(ClassifyHttp, ContentFilterIsAFailureWithItsCode) {
  const Error e = classify(400, R"({"error":{"message":"risky","type":"content_filter"}})");
  EXPECT_EQ(e.kind, ErrorKind::kInvalidRequest);
  EXPECT_EQ(e.code, "content_filter");
  EXPECT_FALSE(e.retryable);
}

TEST(ClassifyHttp, SecretsEchoedByTheUpstreamAreMasked) {
  const std::string key = "sk-proj-Abcdefghijklmnopqrstuvwxyz0123456789wxyz";
  const Error e = classify(401, R"({"error":{"message":"Invalid key )" + key + R"(, check it"}})");
  EXPECT_EQ(e.message.find(key), std::string::npos) << e.message;
  EXPECT_NE(e.message.find("sk-…wxyz"), std::string::npos) << e.message;
  EXPECT_NE(e.message.find("check it"), std::string::npos) << e.message;
  // Ordinary words, numbers and URLs stay readable.
  EXPECT_EQ(scrub_message("see https://platform.openai.com/account/api-keys for 429"),
            "see https://platform.openai.com/account/api-keys for 429");
}

TEST(ClassifyHttp, KeysWithSlashPlusAndEqualsAreMaskedWhole) {
  // A base64 key: before '/', '+' and '=' counted as key characters, its pieces were each too
  // short to look secret and went through.
  const std::string key = "Zm9v/YmFy+YmF6/cXV4+Y29yZ2U0MjA5=";
  const std::string scrubbed = scrub_message("key " + key + " rejected");
  EXPECT_EQ(scrubbed.find("YmFy+YmF6"), std::string::npos) << scrubbed;
  EXPECT_EQ(scrubbed, "key …jA5= rejected");
  // Qianfan's bce-v3/ALTAK-... keys too.
  const std::string qianfan = "bce-v3/ALTAK-abcdefGHIJ123456/0123456789abcdef0123";
  EXPECT_EQ(scrub_message(qianfan).find("ALTAK-abc"), std::string::npos);
  // URLs with digits in their path stay readable; so do short words with '=' or '/'.
  EXPECT_EQ(scrub_message("see https://api.example.com/v1/docs/errors/429 and max_tokens=4096"),
            "see https://api.example.com/v1/docs/errors/429 and max_tokens=4096");
  EXPECT_EQ(scrub_message("input/output mismatch"), "input/output mismatch");
}

TEST(ClassifyHttp, ScrubbedMessagesAreBoundedAndSingleLine) {
  const std::string long_text(5000, 'a');
  EXPECT_LE(scrub_message(long_text).size(), 1010u);
  EXPECT_EQ(scrub_message("a\nb\tc"), "a b c");
  // The cut never splits a UTF-8 character.
  std::string cjk;
  for (int i = 0; i < 1000; ++i) cjk += "限";
  const std::string scrubbed = scrub_message(cjk);
  EXPECT_EQ(scrubbed.substr(scrubbed.size() - 3), "…");
  EXPECT_EQ((scrubbed.size() - 3) % 3, 0u);
}

TEST(ProviderClassify, DefaultFollowsHttpSemantics) {
  struct Dummy : Provider {
    Result<UpstreamRequest> encode(const ChatRequest&, const Credential&) const override {
      return UpstreamRequest{};
    }
    Result<ChatResponse> decode(const UpstreamResponse&) const override { return ChatResponse{}; }
    std::unique_ptr<StreamDecoder> stream_decoder() const override { return nullptr; }
  } dummy;
  const Error e = dummy.classify(429, {{"Retry-After", "2"}}, kRateLimitBody);
  EXPECT_EQ(e.key_action, KeyAction::kCooldown);
  EXPECT_EQ(e.cooldown, milliseconds(2000));
  EXPECT_EQ(e.source, "upstream");
}

TEST(UtcSecondsOfDay, ReadsTheTimeOfAnHttpDate) {
  EXPECT_EQ(utc_seconds_of_day({{"Date", "Sun, 06 Nov 1994 08:49:37 GMT"}}),
            8 * 3600 + 49 * 60 + 37);
  EXPECT_EQ(utc_seconds_of_day({{"date", "garbage"}}), std::nullopt);
  EXPECT_EQ(utc_seconds_of_day({}), std::nullopt);
}

}  // namespace
}  // namespace bc::providers
