#include "net/response_head.h"

#include <gtest/gtest.h>

#include <string>

namespace bc::net {
namespace {

TEST(ResponseHead, LengthFramedHttp11KeepsConnectionUnsaid) {
  std::string out;
  append_head(out, 11, 200, "application/json", {}, true, Framing::kLength, 17);
  EXPECT_EQ(out,
            "HTTP/1.1 200 OK\r\nServer: balancedcall\r\nContent-Type: application/json\r\n"
            "Content-Length: 17\r\n\r\n");
}

TEST(ResponseHead, HandlerFieldsComeAfterContentTypeAndBeforeFraming) {
  std::string out;
  Headers extra;
  extra.push_back(Header{"Retry-After", "1"});
  extra.push_back(Header{"X-Request-Id", "abc"});
  append_head(out, 11, 503, "application/json", extra, false, Framing::kLength, 0);
  EXPECT_EQ(out,
            "HTTP/1.1 503 Service Unavailable\r\nServer: balancedcall\r\n"
            "Content-Type: application/json\r\nRetry-After: 1\r\nX-Request-Id: abc\r\n"
            "Connection: close\r\nContent-Length: 0\r\n\r\n");
}

TEST(ResponseHead, ChunkedStreamHead) {
  std::string out;
  append_head(out, 11, 200, "text/event-stream", {}, true, Framing::kChunked);
  EXPECT_EQ(out,
            "HTTP/1.1 200 OK\r\nServer: balancedcall\r\nContent-Type: text/event-stream\r\n"
            "Transfer-Encoding: chunked\r\n\r\n");
}

TEST(ResponseHead, Http10SaysKeepAliveOnlyWhenKept) {
  std::string kept;
  append_head(kept, 10, 200, "text/plain", {}, true, Framing::kLength, 2);
  EXPECT_EQ(kept,
            "HTTP/1.0 200 OK\r\nServer: balancedcall\r\nContent-Type: text/plain\r\n"
            "Connection: keep-alive\r\nContent-Length: 2\r\n\r\n");
  std::string closed;
  append_head(closed, 10, 200, "text/plain", {}, false, Framing::kNone);
  EXPECT_EQ(closed, "HTTP/1.0 200 OK\r\nServer: balancedcall\r\nContent-Type: text/plain\r\n\r\n");
}

TEST(ResponseHead, NoContentTypeAndNoBody) {
  std::string out;
  append_head(out, 11, 204, "", {}, true, Framing::kNone);
  EXPECT_EQ(out, "HTTP/1.1 204 No Content\r\nServer: balancedcall\r\n\r\n");
}

TEST(ResponseHead, AppendsToWhatTheStringHolds) {
  std::string out = "before";
  append_head(out, 11, 404, "", {}, true, Framing::kLength, 1234567);
  EXPECT_EQ(out,
            "beforeHTTP/1.1 404 Not Found\r\nServer: balancedcall\r\nContent-Length: "
            "1234567\r\n\r\n");
}

}  // namespace
}  // namespace bc::net
