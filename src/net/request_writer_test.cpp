#include "net/request_writer.h"

#include <gtest/gtest.h>

#include <string>

namespace bc::net {
namespace {

const RequestTarget kWhere{"/v1/chat/completions", "api.example.com", "BalancedCall/0.1"};

UpstreamRequest post(std::string body) {
  UpstreamRequest r;
  r.url = "https://api.example.com/v1/chat/completions";
  r.headers.push_back(Header{"Authorization", "Bearer sk-test"});
  r.headers.push_back(Header{"Content-Type", "application/json"});
  r.body = std::move(body);
  return r;
}

TEST(RequestWriter, PostHeadWithOurFramingAndTheBodyInPlace) {
  const auto request = post("{\"a\":1}");
  OutgoingRequest out;
  ASSERT_TRUE(write_request(request, kWhere, out).ok());
  EXPECT_EQ(out.head,
            "POST /v1/chat/completions HTTP/1.1\r\nHost: api.example.com\r\n"
            "Authorization: Bearer sk-test\r\nContent-Type: application/json\r\n"
            "User-Agent: BalancedCall/0.1\r\nConnection: keep-alive\r\nContent-Length: 7\r\n\r\n");
  EXPECT_EQ(out.body.data(), request.body.data());  // not copied
  EXPECT_FALSE(out.is_head);
  EXPECT_FALSE(out.stream);
}

TEST(RequestWriter, CallersFramingFieldsAreDroppedAndItsUserAgentKept) {
  auto request = post("");
  request.headers.push_back(Header{"host", "evil.example"});
  request.headers.push_back(Header{"Content-Length", "99"});
  request.headers.push_back(Header{"Transfer-Encoding", "chunked"});
  request.headers.push_back(Header{"CONNECTION", "close"});
  request.headers.push_back(Header{"user-agent", "mine/1"});
  request.stream = true;
  OutgoingRequest out;
  ASSERT_TRUE(write_request(request, kWhere, out).ok());
  EXPECT_EQ(out.head,
            "POST /v1/chat/completions HTTP/1.1\r\nHost: api.example.com\r\n"
            "Authorization: Bearer sk-test\r\nContent-Type: application/json\r\n"
            "user-agent: mine/1\r\nConnection: keep-alive\r\nContent-Length: 0\r\n\r\n");
  EXPECT_TRUE(out.stream);
}

TEST(RequestWriter, GetAndHeadWithoutBodyHaveNoContentLength) {
  UpstreamRequest request;
  request.method = "HEAD";
  OutgoingRequest out;
  ASSERT_TRUE(write_request(request, kWhere, out).ok());
  EXPECT_EQ(out.head,
            "HEAD /v1/chat/completions HTTP/1.1\r\nHost: api.example.com\r\n"
            "User-Agent: BalancedCall/0.1\r\nConnection: keep-alive\r\n\r\n");
  EXPECT_TRUE(out.is_head);
}

TEST(RequestWriter, LineBreakInValueIsRefusedWithoutNamingTheValue) {
  auto request = post("{}");
  request.headers[0].value = "Bearer sk-secret\r\nX-Forged: 1";
  OutgoingRequest out;
  const auto status = write_request(request, kWhere, out);
  ASSERT_FALSE(status.ok());
  EXPECT_EQ(status.error().code, "invalid_upstream_request");
  EXPECT_NE(status.error().message.find("'Authorization'"), std::string::npos);
  EXPECT_EQ(status.error().message.find("sk-secret"), std::string::npos);
}

TEST(RequestWriter, MalformedNamesAndMethodsAreRefused) {
  for (const char* name : {"", "X Bad", "X:Bad", "X\tBad", "X\nBad"}) {
    auto request = post("{}");
    request.headers.push_back(Header{name, "v"});
    OutgoingRequest out;
    EXPECT_FALSE(write_request(request, kWhere, out).ok()) << name;
  }
  for (const char* method : {"", "PO ST", "POST\r\n"}) {
    auto request = post("{}");
    request.method = method;
    OutgoingRequest out;
    EXPECT_FALSE(write_request(request, kWhere, out).ok()) << method;
  }
}

}  // namespace
}  // namespace bc::net
