#include "providers/jwt.h"

#include <gtest/gtest.h>
#include <boost/json.hpp>

#include "providers/zhipu.h"

namespace bc::providers {
namespace {

namespace json = boost::json;

std::string hex(std::string_view bytes) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  for (char c : bytes) {
    out.push_back(kHex[static_cast<unsigned char>(c) >> 4]);
    out.push_back(kHex[static_cast<unsigned char>(c) & 0xF]);
  }
  return out;
}

// Decodes unpadded base64url; test-only, assumes valid input.
std::string unbase64url(std::string_view text) {
  std::string out;
  unsigned buffer = 0;
  int bits = 0;
  for (char c : text) {
    unsigned v = 0;
    if (c >= 'A' && c <= 'Z') v = c - 'A';
    if (c >= 'a' && c <= 'z') v = c - 'a' + 26;
    if (c >= '0' && c <= '9') v = c - '0' + 52;
    if (c == '-') v = 62;
    if (c == '_') v = 63;
    buffer = buffer << 6 | v;
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out.push_back(static_cast<char>((buffer >> bits) & 0xFF));
    }
  }
  return out;
}

TEST(Base64Url, EncodesWithoutPaddingInTheUrlAlphabet) {
  EXPECT_EQ(base64url(""), "");
  EXPECT_EQ(base64url("f"), "Zg");
  EXPECT_EQ(base64url("fo"), "Zm8");
  EXPECT_EQ(base64url("foo"), "Zm9v");
  EXPECT_EQ(base64url("foobar"), "Zm9vYmFy");
  EXPECT_EQ(base64url("\xfb\xff"), "-_8");
}

TEST(HmacSha256, MatchesRfc4231TestCase2) {
  EXPECT_EQ(hex(hmac_sha256("Jefe", "what do ya want for nothing?")),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
}

// Computed independently (Python hmac + base64).
constexpr std::string_view kKnownToken =
    "eyJhbGciOiJIUzI1NiIsInNpZ25fdHlwZSI6IlNJR04ifQ."
    "eyJhcGlfa2V5IjoiMGYxZTJkM2MiLCJleHAiOjE3MDAwMDE4MDAwMDAsInRpbWVzdGFtcCI6MTcwMDAwMDAwMDAwMH0."
    "W4IQOJqVpJ9ltSVEg-q3TDWuJ_n8MgYW-Oe0hUKR498";

TEST(Hs256Jwt, MatchesAnIndependentlyComputedToken) {
  EXPECT_EQ(hs256_jwt(R"({"alg":"HS256","sign_type":"SIGN"})",
                      R"({"api_key":"0f1e2d3c","exp":1700001800000,"timestamp":1700000000000})",
                      "AbCdEfGh12345678"),
            kKnownToken);
}

ChatRequest request() {
  auto r = ChatRequest::parse(R"({"messages":[{"role":"user","content":"hi"}]})");
  EXPECT_TRUE(r.ok());
  return std::move(r).value();
}

ProviderOptions jwt_options(bool jwt) {
  ProviderOptions o;
  o.model_name = "glm";
  o.upstream_model = "glm-4-flash";
  o.own_options = ZhipuOptions{jwt};
  return o;
}

std::string bearer(const UpstreamRequest& r) {
  const auto auth = find_header(r.headers, "Authorization");
  EXPECT_TRUE(auth.has_value());
  EXPECT_TRUE(auth->starts_with("Bearer "));
  return std::string(auth->substr(7));
}

TEST(ZhipuJwt, SignsTheKeyWithMillisecondTimes) {
  Credential key{"0f1e2d3c.AbCdEfGh12345678", "zhipu-1"};
  key.now_unix_ms = 1'700'000'000'000;
  auto r = make_zhipu(jwt_options(true))->encode(request(), key);
  ASSERT_TRUE(r.ok()) << r.error().message;
  const std::string token = bearer(*r);
  EXPECT_EQ(token, kKnownToken);

  // Structure: three segments; header with sign_type; payload with the id and ms times.
  const auto first = token.find('.');
  const auto second = token.find('.', first + 1);
  ASSERT_NE(second, std::string::npos);
  EXPECT_EQ(token.find('='), std::string::npos);
  EXPECT_EQ(json::parse(unbase64url(token.substr(0, first))),
            json::parse(R"({"alg":"HS256","sign_type":"SIGN"})"));
  EXPECT_EQ(json::parse(unbase64url(token.substr(first + 1, second - first - 1))),
            json::parse(R"({"api_key":"0f1e2d3c","exp":1700001800000,"timestamp":1700000000000})"));
  // The signature verifies with the secret half of the key, not with the whole key.
  EXPECT_EQ(unbase64url(token.substr(second + 1)),
            hmac_sha256("AbCdEfGh12345678", token.substr(0, second)));
  EXPECT_NE(unbase64url(token.substr(second + 1)),
            hmac_sha256("0f1e2d3c.AbCdEfGh12345678", token.substr(0, second)));
}

TEST(ZhipuJwt, TokenChangesWithTime) {
  Credential key{"0f1e2d3c.AbCdEfGh12345678", "zhipu-1"};
  key.now_unix_ms = 1'700'000'000'000;
  const auto p = make_zhipu(jwt_options(true));
  const std::string a = bearer(*p->encode(request(), key));
  key.now_unix_ms += 1;
  EXPECT_NE(bearer(*p->encode(request(), key)), a);
}

TEST(ZhipuJwt, PlainKeyWithoutJwtAuthOrWithoutADot) {
  Credential key{"0f1e2d3c.AbCdEfGh12345678", "zhipu-1"};
  key.now_unix_ms = 1'700'000'000'000;
  EXPECT_EQ(bearer(*make_zhipu(jwt_options(false))->encode(request(), key)),
            "0f1e2d3c.AbCdEfGh12345678");
  Credential plain{"nodotkey1234", "zhipu-2"};
  EXPECT_EQ(bearer(*make_zhipu(jwt_options(true))->encode(request(), plain)), "nodotkey1234");
}

TEST(ZhipuJwt, NeedsTheTime) {
  Credential key{"0f1e2d3c.AbCdEfGh12345678", "zhipu-1"};
  auto r = make_zhipu(jwt_options(true))->encode(request(), key);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().kind, ErrorKind::kInternal);
}

TEST(ZhipuJwt, RejectedTokenRefreshesInJwtModeOnly) {
  const std::string body = R"({"error":{"code":"1003","message":"token expired"}})";
  const Error jwt = make_zhipu(jwt_options(true))->classify(401, {}, body);
  EXPECT_EQ(jwt.key_action, KeyAction::kRefreshCredential);
  EXPECT_TRUE(jwt.retryable);
  const Error plain = make_zhipu(jwt_options(false))->classify(401, {}, body);
  EXPECT_EQ(plain.key_action, KeyAction::kDisable);
  // Other codes are unchanged by JWT mode.
  const Error rate = make_zhipu(jwt_options(true))
                         ->classify(429, {}, R"({"error":{"code":"1302","message":"busy"}})");
  EXPECT_EQ(rate.key_action, KeyAction::kCooldown);
}

}  // namespace
}  // namespace bc::providers
