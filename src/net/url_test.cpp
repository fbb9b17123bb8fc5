#include "net/url.h"

#include <gtest/gtest.h>

namespace bc::net {
namespace {

TEST(ParseUrl, HttpsWithDefaultPortAndQuery) {
  auto url = parse_url("https://API.Example.com/v1/chat?key=secret");
  ASSERT_TRUE(url.ok());
  EXPECT_TRUE(url->tls);
  EXPECT_EQ(url->host, "api.example.com");
  EXPECT_EQ(url->port, 443);
  EXPECT_EQ(url->target, "/v1/chat?key=secret");
  EXPECT_EQ(url->origin(), "https://api.example.com:443");
  EXPECT_EQ(url->host_header(), "api.example.com");
  EXPECT_EQ(url->authority(), "api.example.com:443");
}

TEST(ParseUrl, HttpWithExplicitPortAndNoPath) {
  auto url = parse_url("HTTP://127.0.0.1:8080");
  ASSERT_TRUE(url.ok());
  EXPECT_FALSE(url->tls);
  EXPECT_EQ(url->host, "127.0.0.1");
  EXPECT_EQ(url->port, 8080);
  EXPECT_EQ(url->target, "/");
  EXPECT_EQ(url->host_header(), "127.0.0.1:8080");
}

TEST(ParseUrl, QueryWithoutPathGetsSlashAndFragmentIsDropped) {
  auto url = parse_url("http://h?a=1#frag");
  ASSERT_TRUE(url.ok());
  EXPECT_EQ(url->target, "/?a=1");
  EXPECT_EQ(url->port, 80);
}

TEST(ParseUrl, Ipv6LiteralInBrackets) {
  auto url = parse_url("http://[::1]:9000/x");
  ASSERT_TRUE(url.ok());
  EXPECT_EQ(url->host, "::1");
  EXPECT_EQ(url->port, 9000);
  EXPECT_EQ(url->authority(), "[::1]:9000");
}

TEST(ParseUrl, RejectsMockAndOtherSchemes) {
  auto mock = parse_url("mock://glm/v1/chat");
  ASSERT_FALSE(mock.ok());
  EXPECT_NE(mock.error().message.find("mock"), std::string::npos);
  EXPECT_FALSE(parse_url("ftp://h/").ok());
  EXPECT_FALSE(parse_url("no-scheme/path").ok());
}

TEST(ParseUrl, RejectsBadAuthorities) {
  EXPECT_FALSE(parse_url("http:///path").ok());
  EXPECT_FALSE(parse_url("http://h:/").ok());
  EXPECT_FALSE(parse_url("http://h:0/").ok());
  EXPECT_FALSE(parse_url("http://h:65536/").ok());
  EXPECT_FALSE(parse_url("http://h:12a/").ok());
  EXPECT_FALSE(parse_url("http://user:pw@h/").ok());
  EXPECT_FALSE(parse_url("http://h/a b").ok());
  EXPECT_FALSE(parse_url("http://[::1/").ok());
}

TEST(ParseUrl, ErrorNeverEchoesPathOrQuery) {
  auto url = parse_url("http://h:99999/v1?key=sk-secret");
  ASSERT_FALSE(url.ok());
  EXPECT_EQ(url.error().message.find("sk-secret"), std::string::npos);
}

}  // namespace
}  // namespace bc::net
