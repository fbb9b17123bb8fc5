// The plain server: streams, requests however they arrive or are refused, exact response heads.

#include <gtest/gtest.h>

#include "net/http_server.h"
#include "net/http_server_test_support.h"

namespace bc::net {
namespace {

using namespace testing_server;

TEST(HttpServerStream, HeadLeavesWithFirstChunkAndLastChunkWithTheEnd) {
  PlainServer server;
  const std::string raw = server.fetch_raw("/stream-end");
  EXPECT_EQ(raw.rfind("HTTP/1.1 200 OK\r\n", 0), 0u) << raw;
  EXPECT_NE(raw.find("Transfer-Encoding: chunked\r\n"), std::string::npos) << raw;
  EXPECT_EQ(after_head(raw), "2\r\nab\r\n4\r\ntail\r\n0\r\n\r\n");
  // Each write() is its own chunk.
  EXPECT_EQ(after_head(server.fetch_raw("/stream")), "1\r\na\r\n1\r\nb\r\n1\r\nc\r\n0\r\n\r\n");
}

TEST(HttpServerStream, StreamWithNoDataStillSendsItsHeadAndEnd) {
  PlainServer server;
  const std::string raw = server.fetch_raw("/stream-empty");
  EXPECT_EQ(raw.rfind("HTTP/1.1 200 OK\r\n", 0), 0u) << raw;
  EXPECT_EQ(after_head(raw), "0\r\n\r\n");
}

TEST(HttpServerStream, Http10StreamIsRawBytesEndedByClose) {
  PlainServer server;
  const std::string raw = server.fetch_raw("/stream-end", "1.0");
  EXPECT_EQ(raw.rfind("HTTP/1.0 200 OK\r\n", 0), 0u) << raw;
  EXPECT_EQ(raw.find("chunked"), std::string::npos) << raw;
  EXPECT_EQ(after_head(raw), "abtail");
}

// Requests are read from whatever the buffer holds first, then from the socket: every way a
// request can arrive (whole, several in one write, in pieces, chunked, after 100 Continue) and
// every way it can be refused in its first bytes gets the same answer.
std::string post(const std::string& body, const std::string& connection = "keep-alive") {
  return "POST /echo HTTP/1.1\r\nHost: x\r\nConnection: " + connection +
         "\r\nContent-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body;
}
// The bodies of the answers in `raw`, in order.
std::vector<std::string> bodies(std::string raw) {
  std::vector<std::string> out;
  for (;;) {
    const auto head_end = raw.find("\r\n\r\n");
    const auto length_at = raw.find("Content-Length: ");
    if (head_end == std::string::npos || length_at == std::string::npos) return out;
    const std::size_t length = std::stoul(raw.substr(length_at + 16));
    out.push_back(raw.substr(head_end + 4, length));
    raw.erase(0, head_end + 4 + length);
  }
}

TEST(HttpServerRequests, PipelinedRequestsInOneWriteAreAnsweredInOrder) {
  PlainServer server;
  const std::string raw =
      server.exchange_raw({post("abc") + post("") + post("xy") +
                           "GET /plain HTTP/1.1\r\nHost: x\r\n\r\n" + post("last", "close")});
  EXPECT_EQ(bodies(raw), (std::vector<std::string>{"abc", "", "xy", "hello", "last"})) << raw;
}

TEST(HttpServerRequests, ARequestInPiecesIsReadWhole) {
  PlainServer server;
  const std::string whole = post("0123456789", "close");
  const std::size_t head = whole.find("\r\n\r\n") + 4;
  // The head cut in a line, the rest of it, then the body in two pieces.
  const std::string raw = server.exchange_raw({whole.substr(0, 20), whole.substr(20, head - 20),
                                               whole.substr(head, 4), whole.substr(head + 4)},
                                              30ms);
  EXPECT_EQ(bodies(raw), (std::vector<std::string>{"0123456789"})) << raw;
  // A head whole and its body later.
  const std::string later = server.exchange_raw({whole.substr(0, head), whole.substr(head)}, 30ms);
  EXPECT_EQ(bodies(later), (std::vector<std::string>{"0123456789"})) << later;
}

TEST(HttpServerRequests, AChunkedBodyIsReadWholeInOneWriteOrInPieces) {
  PlainServer server;
  const std::string request =
      "POST /echo HTTP/1.1\r\nHost: x\r\nConnection: close\r\nTransfer-Encoding: "
      "chunked\r\n\r\n3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n";
  EXPECT_EQ(bodies(server.exchange_raw({request})), (std::vector<std::string>{"abcde"}));
  EXPECT_EQ(bodies(server.exchange_raw({request.substr(0, 90), request.substr(90)}, 30ms)),
            (std::vector<std::string>{"abcde"}));
}

// An answer larger than the socket takes at once: what it takes is sent at once, the rest when
// the slow reader makes room, all of it in order.
TEST(HttpServerRequests, AnAnswerLargerThanTheSocketReachesASlowReaderWhole) {
  PlainServer server;
  const std::string raw =
      server.exchange_raw({"GET /big HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"}, 300ms);
  EXPECT_EQ(bodies(raw), (std::vector<std::string>{std::string(8 << 20, 'z')}));
  const std::string streamed = server.exchange_raw(
      {"GET /big-stream HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"}, 300ms);
  EXPECT_EQ(after_head(streamed),
            "800000\r\n" + std::string(8 << 20, 's') + "\r\n3\r\nend\r\n0\r\n\r\n");
}

TEST(HttpServerRequests, ExpectContinueGetsA100ThenTheAnswer) {
  PlainServer server;
  const std::string head =
      "POST /echo HTTP/1.1\r\nHost: x\r\nConnection: close\r\nExpect: "
      "100-continue\r\nContent-Length: 4\r\n\r\n";
  const std::string raw = server.exchange_raw({head, "body"}, 100ms);
  EXPECT_EQ(raw.rfind("HTTP/1.1 100 Continue\r\n\r\n", 0), 0u) << raw;
  EXPECT_EQ(bodies(raw.substr(raw.find("\r\n\r\n") + 4)), (std::vector<std::string>{"body"}))
      << raw;
}

TEST(HttpServerRequests, RequestsRefusedByTheirFirstBytesGetTheirStatus) {
  PlainServer server(1024, 16);
  const auto status_of = [&](const std::string& request) {
    const std::string raw = server.exchange_raw({request});
    return raw.substr(0, raw.find("\r\n"));
  };
  // Each fits the server's first read (4 KiB), so the buffered parse meets it.
  EXPECT_EQ(
      status_of("GET /plain HTTP/1.1\r\nHost: x\r\nX-Big: " + std::string(2000, 'a') + "\r\n\r\n"),
      "HTTP/1.1 431 Request Header Fields Too Large");
  EXPECT_EQ(status_of(post(std::string(17, 'b'))), "HTTP/1.1 413 Payload Too Large");
  EXPECT_EQ(status_of("POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
                      "11\r\n" +
                      std::string(17, 'c') + "\r\n0\r\n\r\n"),
            "HTTP/1.1 413 Payload Too Large");
  EXPECT_EQ(status_of("GET /plain HTTP/1.1\r\nHost: x\r\nBad Header\r\n\r\n"),
            "HTTP/1.1 400 Bad Request");
  EXPECT_EQ(status_of("GET /plain HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nab"),
            "HTTP/1.1 400 Bad Request");
  // And the same server still answers a good request.
  EXPECT_EQ(bodies(server.exchange_raw({post("ok", "close")})), (std::vector<std::string>{"ok"}));
}

TEST(HttpServerHead, EveryKindOfAnswerHasItsExactHead) {
  PlainServer server;
  struct Case {
    std::string target, version, connection, head;
  };
  const std::vector<Case> cases = {
      {"/plain", "1.1", "close",
       "HTTP/1.1 200 OK\r\nServer: balancedcall\r\nContent-Type: text/plain\r\nConnection: "
       "close\r\nContent-Length: 5\r\n\r\n"},
      {"/plain", "1.1", "keep-alive",
       "HTTP/1.1 200 OK\r\nServer: balancedcall\r\nContent-Type: text/plain\r\nContent-Length: "
       "5\r\n\r\n"},
      {"/plain", "1.0", "keep-alive",
       "HTTP/1.0 200 OK\r\nServer: balancedcall\r\nContent-Type: text/plain\r\nConnection: "
       "keep-alive\r\nContent-Length: 5\r\n\r\n"},
      {"/plain", "1.0", "close",
       "HTTP/1.0 200 OK\r\nServer: balancedcall\r\nContent-Type: text/plain\r\nContent-Length: "
       "5\r\n\r\n"},
      {"/extra", "1.1", "keep-alive",
       "HTTP/1.1 201 Created\r\nServer: balancedcall\r\nContent-Type: "
       "application/json\r\nX-Request-Id: r-1\r\nRetry-After: 3\r\nContent-Length: 2\r\n\r\n"},
      {"/no-content", "1.1", "keep-alive",
       "HTTP/1.1 204 No Content\r\nServer: balancedcall\r\nContent-Type: text/plain\r\n\r\n"},
      {"/stream-extra", "1.1", "keep-alive",
       "HTTP/1.1 200 OK\r\nServer: balancedcall\r\nContent-Type: "
       "text/event-stream\r\nCache-Control: "
       "no-cache\r\nTransfer-Encoding: chunked\r\n\r\n"},
      {"/stream-extra", "1.1", "close",
       "HTTP/1.1 200 OK\r\nServer: balancedcall\r\nContent-Type: "
       "text/event-stream\r\nCache-Control: "
       "no-cache\r\nConnection: close\r\nTransfer-Encoding: chunked\r\n\r\n"},
      {"/stream-extra", "1.0", "keep-alive",
       "HTTP/1.0 200 OK\r\nServer: balancedcall\r\nContent-Type: "
       "text/event-stream\r\nCache-Control: "
       "no-cache\r\n\r\n"},
  };
  for (const auto& c : cases) {
    const std::string raw = server.fetch_raw(c.target, c.version, c.connection);
    const auto end = raw.find("\r\n\r\n");
    EXPECT_EQ(raw.substr(0, end == std::string::npos ? raw.size() : end + 4), c.head)
        << c.target << " HTTP/" << c.version << " Connection: " << c.connection;
  }
}
}  // namespace
}  // namespace bc::net
