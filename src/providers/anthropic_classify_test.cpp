// Anthropic's error answers classified: which fail, retry, cool the key down or disable it.
#include <gtest/gtest.h>

#include "providers/anthropic.h"
#include "providers/upstream_error.h"

namespace bc::providers {
namespace {

using std::chrono::milliseconds;

ProviderOptions options() {
  ProviderOptions o;
  o.model_name = "claude";
  o.upstream_model = "claude-sonnet-4-20250514";
  return o;
}

Error classify(int status, std::string_view type, std::string_view message = "no",
               Headers headers = {}, std::string_view details = "") {
  std::string body = R"({"type":"error","error":{"type":")" + std::string(type) +
                     R"(","message":")" + std::string(message) + "\"";
  if (!details.empty()) body += R"(,"details":)" + std::string(details);
  body += R"(},"request_id":"req_011CSLsW7mFq"})";
  return make_anthropic(options())->classify(status, headers, body);
}

TEST(AnthropicClassify, RateLimitCoolsTheKeyForRetryAfter) {
  const Error e = classify(429, "rate_limit_error", "per-minute limit", {{"retry-after", "30"}});
  EXPECT_EQ(e.kind, ErrorKind::kRateLimited);
  EXPECT_TRUE(e.retryable);
  EXPECT_EQ(e.key_action, KeyAction::kCooldown);
  EXPECT_EQ(e.cooldown, milliseconds(30'000));
  EXPECT_EQ(e.source, "upstream:anthropic");
  EXPECT_EQ(classify(429, "rate_limit_error").cooldown, kDefaultRateLimitCooldown);
}

TEST(AnthropicClassify, OverloadIsRetriedWithoutTouchingTheKey) {
  const Error e = classify(529, "overloaded_error", "Overloaded", {{"retry-after", "5"}});
  EXPECT_EQ(e.kind, ErrorKind::kUpstream);
  EXPECT_EQ(e.code, "upstream_overloaded");
  EXPECT_TRUE(e.retryable);
  EXPECT_EQ(e.key_action, KeyAction::kNone);
  const Error internal = classify(500, "api_error");
  EXPECT_TRUE(internal.retryable);
  EXPECT_EQ(internal.key_action, KeyAction::kNone);
}

TEST(AnthropicClassify, AuthAndPermissionDisableTheKey) {
  for (auto [status, type] :
       {std::pair{401, "authentication_error"}, std::pair{403, "permission_error"}}) {
    const Error e = classify(status, type);
    EXPECT_EQ(e.key_action, KeyAction::kDisable) << status;
    EXPECT_TRUE(e.retryable) << status;
  }
  const Error billing = classify(402, "billing_error");
  EXPECT_EQ(billing.key_action, KeyAction::kDisable);
  EXPECT_EQ(billing.cooldown, kBillingReprobe);
}

TEST(AnthropicClassify, BadRequestsFail) {
  const Error e = classify(400, "invalid_request_error", "messages: field required");
  EXPECT_EQ(e.kind, ErrorKind::kInvalidRequest);
  EXPECT_FALSE(e.retryable);
  EXPECT_EQ(e.key_action, KeyAction::kNone);
  EXPECT_NE(e.message.find("messages: field required"), std::string::npos);
  EXPECT_FALSE(classify(404, "not_found_error").retryable);
  EXPECT_EQ(classify(413, "request_too_large").kind, ErrorKind::kPayloadTooLarge);
}

TEST(AnthropicClassify, SpendLimitsDisableTheKey) {
  const Error workspace =
      classify(400, "invalid_request_error",
               "You have reached your specified workspace API usage limits. Spend limit reached.");
  EXPECT_EQ(workspace.key_action, KeyAction::kDisable);
  EXPECT_EQ(workspace.code, "insufficient_quota");
  const Error monthly = classify(429, "rate_limit_error", "cap", {},
                                 R"({"error_code":"enforced_spend_limit_reached"})");
  EXPECT_EQ(monthly.key_action, KeyAction::kDisable);
  EXPECT_EQ(monthly.cooldown, kBillingReprobe);
}

}  // namespace
}  // namespace bc::providers
