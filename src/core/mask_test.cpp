#include "core/mask.h"

#include <gtest/gtest.h>

namespace bc {
namespace {

TEST(MaskSecret, KeepsPrefixAndLastFour) {
  EXPECT_EQ(mask_secret("sk-abcdefghijklmnop1234"), "sk-…1234");
  EXPECT_EQ(mask_secret("0f1e2d3c4b5a.AbCdEfGh12345678"), "…5678");
}

TEST(MaskSecret, ShortSecretsRevealAlmostNothing) {
  EXPECT_EQ(mask_secret("abc"), "…");
  EXPECT_EQ(mask_secret("abcdefghij"), "…ij");
}

TEST(MaskSecret, NeverContainsTheMiddle) {
  const std::string secret = "sk-proj-SECRETSECRETSECRET9876";
  const auto masked = mask_secret(secret);
  EXPECT_EQ(masked.find("SECRET"), std::string::npos);
}

TEST(RedactSecret, ReplacesEveryOccurrenceByTheMask) {
  std::string text = "key sk-abcdefghijklmnop1234 is invalid (sk-abcdefghijklmnop1234)";
  redact_secret(text, "sk-abcdefghijklmnop1234");
  EXPECT_EQ(text, "key sk-…1234 is invalid (sk-…1234)");
}

TEST(RedactSecret, ShortKeysAndKeysWithPunctuation) {
  std::string short_key = "Incorrect API key provided: k8secret.";
  redact_secret(short_key, "k8secret");
  // As the key's public id shows it: the last two characters of an 8-character key.
  EXPECT_EQ(short_key, "Incorrect API key provided: …et.");

  const std::string secret = "Ab+/cd=ef/GH+ij==";
  std::string text = "bad key 'Ab+/cd=ef/GH+ij==' rejected";
  redact_secret(text, secret);
  EXPECT_EQ(text.find("Ab+/cd"), std::string::npos) << text;
  EXPECT_EQ(text, "bad key '" + mask_secret(secret) + "' rejected");
}

TEST(RedactSecret, EncodedForms) {
  const std::string secret = "Ab+/cd=ef/GH+ij==";
  // Percent-encoded, upper and lower hex (as in a query string the upstream echoes).
  std::string url = "GET /token?client_secret=Ab%2B%2Fcd%3Def%2FGH%2Bij%3D%3D failed";
  redact_secret(url, secret);
  EXPECT_EQ(url, "GET /token?client_secret=" + mask_secret(secret) + " failed");
  std::string lower = "Ab%2b%2fcd%3def%2fGH%2bij%3d%3d";
  redact_secret(lower, secret);
  EXPECT_EQ(lower, mask_secret(secret));
  // JSON with escaped slashes, left as is by a raw-text fallback.
  std::string json = R"({"error":"Ab+\/cd=ef\/GH+ij=="})";
  redact_secret(json, secret);
  EXPECT_EQ(json, R"({"error":")" + mask_secret(secret) + R"("})");
  // Base64 (Basic auth echoed): the whole 3-byte groups are masked, padded or not.
  std::string basic = "Authorization: Basic c2stYmFzZTY0LXNlY3JldC0xMjM0NQ== rejected";
  redact_secret(basic, "sk-base64-secret-12345");
  EXPECT_EQ(basic.find("c2stYmFzZTY0LXNlY3JldC0xMjM0"), std::string::npos) << basic;
}

TEST(RedactSecret, CompositeKeysHaveEachPartRedacted) {
  std::string text = "client_id AbCdEfGhIjKl unknown; client_secret s3cr3tValue99 wrong";
  redact_secret(text, "AbCdEfGhIjKl:s3cr3tValue99");
  EXPECT_EQ(text.find("AbCdEfGhIjKl"), std::string::npos) << text;
  EXPECT_EQ(text.find("s3cr3tValue99"), std::string::npos) << text;
}

TEST(RedactSecret, LeavesTextAloneForTinyOrAbsentSecrets) {
  std::string text = "the model is overloaded";
  redact_secret(text, "");
  redact_secret(text, "the");  // below kMinRedactedSecret
  redact_secret(text, "sk-not-in-the-text-0001");
  EXPECT_EQ(text, "the model is overloaded");
  // A replacement never re-creates what it replaced.
  std::string twice = "wxyz";
  redact_secret(twice, "wxyz");
  EXPECT_EQ(twice, "…");
}

}  // namespace
}  // namespace bc
