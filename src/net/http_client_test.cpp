// The client's calls against small scripted servers on 127.0.0.1 (port 0): requests, whole and
// streamed answers, keep-alive pooling. All on the test's one io_context, each test bounded by
// run()'s deadline (client_test_support.h).
#include "net/http_client.h"

#include "net/client_test_support.h"

namespace bc::net {
namespace {

using namespace testing_client;  // asio, ssl, tcp, kTuple, the servers and the fixture

TEST_F(HttpClientTest, SendsRequestAndReadsWholeResponse) {
  TestServer server(io_);
  std::string seen;
  spawn([&]() -> awaitable<void> {
    auto socket = co_await server.accept();
    std::string pending;
    seen = co_await read_request(socket, pending);
    co_await send(socket,
                  "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 11\r\n\r\n"
                  "{\"ok\":true}");
    co_await wait_for_close(socket);
  });
  run([&]() -> awaitable<void> {
    auto call = client_.call();
    auto started = co_await call->start(request(server.url("/v1/chat?x=1")), timeouts_);
    CO_ASSERT_TRUE(started.ok());
    EXPECT_EQ(call->status(), 200);
    EXPECT_EQ(find_header(call->headers(), "content-type").value_or(""), "application/json");
    auto body = co_await call->read_all(1024);
    CO_ASSERT_TRUE(body.ok());
    EXPECT_EQ(*body, R"({"ok":true})");
    auto after_end = co_await call->read_some();
    CO_ASSERT_TRUE(after_end.ok());
    EXPECT_EQ(*after_end, "");
  });
  const auto host = "Host: 127.0.0.1:" + std::to_string(server.port()) + "\r\n";
  EXPECT_EQ(seen.rfind("POST /v1/chat?x=1 HTTP/1.1\r\n", 0), 0u) << seen;
  EXPECT_NE(seen.find(host), std::string::npos) << seen;
  EXPECT_NE(seen.find("Authorization: Bearer sk-test-secret\r\n"), std::string::npos);
  EXPECT_NE(seen.find("Connection: keep-alive\r\n"), std::string::npos);
  EXPECT_NE(seen.find("Content-Length: 7\r\n"), std::string::npos);
  EXPECT_NE(seen.find("User-Agent: BalancedCall/"), std::string::npos);
  EXPECT_EQ(seen.substr(seen.size() - 7), R"({"a":1})");
  EXPECT_EQ(client_.idle_connections(), 1u);
}

// A request body larger than the socket takes at once: the part it takes is sent at once, the
// rest as the (slow) server reads, all of it in order.
TEST_F(HttpClientTest, ARequestLargerThanTheSocketReachesASlowServerWhole) {
  TestServer server(io_);
  std::string seen;
  const std::string big(8 << 20, 'q');
  spawn([&]() -> awaitable<void> {
    auto socket = co_await server.accept();
    asio::steady_timer pause(socket.get_executor(), std::chrono::milliseconds(300));
    co_await pause.async_wait(use_awaitable);
    std::string pending;
    seen = co_await read_request(socket, pending);
    co_await send(socket, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok");
    co_await wait_for_close(socket);
  });
  run([&]() -> awaitable<void> {
    auto call = client_.call();
    auto req = request(server.url("/big"));
    req.body = big;
    auto started = co_await call->start(req, timeouts_);
    CO_ASSERT_TRUE(started.ok());
    auto body = co_await call->read_all(1024);
    CO_ASSERT_TRUE(body.ok());
    EXPECT_EQ(*body, "ok");
  });
  ASSERT_GT(seen.size(), big.size());
  EXPECT_TRUE(seen.ends_with("\r\n\r\n" + big));
}

TEST_F(HttpClientTest, ReusesKeepAliveConnectionForSequentialCalls) {
  TestServer server(io_);
  serve(server, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok");
  run([&]() -> awaitable<void> {
    EXPECT_EQ(co_await fetch(client_, server.url("/a")), "ok");
    EXPECT_EQ(co_await fetch(client_, server.url("/b")), "ok");
  });
  EXPECT_EQ(server.accepted, 1);
  EXPECT_EQ(client_.idle_connections(), 1u);
}

TEST_F(HttpClientTest, DoesNotPoolConnectionWhoseBodyWasNotReadToTheEnd) {
  TestServer server(io_);
  serve(server, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok");
  run([&]() -> awaitable<void> {
    {
      auto call = client_.call();
      CO_ASSERT_TRUE((co_await call->start(request(server.url("/a")), timeouts_)).ok());
    }  // destroyed before its body was read
    EXPECT_EQ(client_.idle_connections(), 0u);
    EXPECT_EQ(co_await fetch(client_, server.url("/b")), "ok");
  });
  EXPECT_EQ(server.accepted, 2);
}

TEST_F(HttpClientTest, DoesNotPoolConnectionTheServerCloses) {
  TestServer server(io_);
  serve(server, "HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 2\r\n\r\nok");
  run([&]() -> awaitable<void> {
    EXPECT_EQ(co_await fetch(client_, server.url("/a")), "ok");
    EXPECT_EQ(client_.idle_connections(), 0u);
    EXPECT_EQ(co_await fetch(client_, server.url("/b")), "ok");
  });
  EXPECT_EQ(server.accepted, 2);
}

TEST_F(HttpClientTest, StreamsChunkedBodyPieceByPiece) {
  TestServer server(io_);
  Gate first_piece_seen(io_);
  spawn([&]() -> awaitable<void> {
    auto socket = co_await server.accept();
    std::string pending;
    co_await read_request(socket, pending);
    co_await send(socket, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n");
    // The rest is sent only once the client has shown it the first piece: a client that
    // waited for the whole body would hang here until run() gives up.
    co_await first_piece_seen.wait();
    co_await send(socket, "6\r\n world\r\n0\r\n\r\n");
    co_await wait_for_close(socket);
  });
  run([&]() -> awaitable<void> {
    auto call = client_.call();
    CO_ASSERT_TRUE((co_await call->start(request(server.url("/stream")), timeouts_)).ok());
    auto first = co_await call->read_some();
    CO_ASSERT_TRUE(first.ok());
    EXPECT_EQ(*first, "hello");
    first_piece_seen.open();
    EXPECT_EQ(co_await read_to_end(*call), " world");
  });
  EXPECT_EQ(client_.idle_connections(), 1u);
}

TEST_F(HttpClientTest, ChunksThatArriveTogetherComeOutAsOnePiece) {
  TestServer server(io_);
  Gate first_piece_seen(io_);
  spawn([&]() -> awaitable<void> {
    auto socket = co_await server.accept();
    std::string pending;
    co_await read_request(socket, pending);
    // Head and three chunks in one send, as an upstream's burst of stream events arrives.
    co_await send(socket,
                  "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
                  "5\r\nhello\r\n1\r\n,\r\n6\r\n world\r\n");
    co_await first_piece_seen.wait();
    co_await send(socket, "1\r\n!\r\n0\r\n\r\n");
    co_await wait_for_close(socket);
  });
  run([&]() -> awaitable<void> {
    auto call = client_.call();
    CO_ASSERT_TRUE((co_await call->start(request(server.url("/stream")), timeouts_)).ok());
    auto first = co_await call->read_some();
    CO_ASSERT_TRUE(first.ok());
    EXPECT_EQ(*first, "hello, world");
    first_piece_seen.open();
    auto last = co_await call->read_some();
    CO_ASSERT_TRUE(last.ok());
    EXPECT_EQ(*last, "!");
    auto end = co_await call->read_some();
    CO_ASSERT_TRUE(end.ok());
    EXPECT_EQ(*end, "");
  });
  EXPECT_EQ(client_.idle_connections(), 1u);
}

TEST_F(HttpClientTest, ALargeBurstAfterASmallStartIsReadInLargePieces) {
  // A stream that starts with a small head and a small event reads with a small buffer; a
  // burst that then fills the reads must get the full read size back, not 512 bytes a recv.
  TestServer server(io_);
  Gate first_piece_seen(io_);
  const std::string burst(64 * 1024, 'x');
  spawn([&]() -> awaitable<void> {
    auto socket = co_await server.accept();
    std::string pending;
    co_await read_request(socket, pending);
    co_await send(socket, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n");
    co_await first_piece_seen.wait();
    co_await sleep_for(std::chrono::milliseconds(20));  // the client waits with a small buffer
    std::ostringstream chunk;
    chunk << std::hex << burst.size() << "\r\n" << burst << "\r\n0\r\n\r\n";
    co_await send(socket, chunk.str());
    co_await wait_for_close(socket);
  });
  run([&]() -> awaitable<void> {
    auto call = client_.call();
    CO_ASSERT_TRUE((co_await call->start(request(server.url("/stream")), timeouts_)).ok());
    auto first = co_await call->read_some();
    CO_ASSERT_TRUE(first.ok());
    EXPECT_EQ(*first, "hello");
    first_piece_seen.open();
    int pieces = 0;
    EXPECT_EQ(co_await read_to_end(*call, &pieces), burst);
    // 4 KiB reads take 16 pieces or so (a loopback recv may bring less); 512-byte ones 128.
    EXPECT_LE(pieces, 40);
  });
}

TEST_F(HttpClientTest, AStreamSentWholeBehindItsHeadComesOutWholeOnFreshAndPooledConnections) {
  // A stream's head is read on a small buffer and what follows it at once is read ahead; a
  // body that ends within that read-ahead must still be handed out, every time.
  TestServer server(io_);
  std::string events;
  for (int i = 0; i < 40; ++i) events += "data: {\"n\":" + std::to_string(i) + "}\n\n";
  std::ostringstream response;
  response << "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nTransfer-Encoding: "
              "chunked\r\n\r\n"
           << std::hex << events.size() << "\r\n"
           << events << "\r\n0\r\n\r\n";
  serve(server, response.str());
  run([&]() -> awaitable<void> {
    for (int round = 0; round < 3; ++round) {
      auto call = client_.call();
      auto req = request(server.url("/stream"));
      req.stream = true;
      CO_ASSERT_TRUE((co_await call->start(req, timeouts_)).ok());
      EXPECT_EQ(co_await read_to_end(*call), events) << "round " << round;
    }
  });
  EXPECT_EQ(server.accepted, 1);  // the rounds after the first reused the connection
}

TEST_F(HttpClientTest, InterimAnswersAreSkippedForTheRealResponse) {
  TestServer server(io_);
  // 100 Continue and 103 Early Hints before the answer, all in one send.
  serve(server,
        "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nLink: </x>; "
        "rel=preload\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\nX-Real: yes\r\n\r\nok");
  run([&]() -> awaitable<void> {
    for (int i = 0; i < 2; ++i) {  // the second call reuses the connection: nothing left over
      auto call = client_.call();
      CO_ASSERT_TRUE((co_await call->start(request(server.url("/")), timeouts_)).ok());
      EXPECT_EQ(call->status(), 200);
      EXPECT_TRUE(find_header(call->headers(), "x-real").has_value());
      EXPECT_FALSE(find_header(call->headers(), "link").has_value());
      auto body = co_await call->read_all(1024);
      CO_ASSERT_TRUE(body.ok());
      EXPECT_EQ(*body, "ok");
    }
  });
  EXPECT_EQ(server.accepted, 1);
  EXPECT_EQ(client_.idle_connections(), 1u);
}

TEST_F(HttpClientTest, MalformedChunkFramingFailsTheCall) {
  TestServer server(io_);
  serve(server, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nhello\r\n");
  run([&]() -> awaitable<void> {
    auto call = client_.call();
    CO_ASSERT_TRUE((co_await call->start(request(server.url("/")), timeouts_)).ok());
    auto body = co_await call->read_all(1024);
    CO_ASSERT_TRUE(!body.ok());
    EXPECT_EQ(body.error().code, "upstream_io");
    EXPECT_NE(body.error().message.find("malformed response body"), std::string::npos)
        << body.error().message;
  });
  EXPECT_EQ(client_.idle_connections(), 0u);
}

TEST_F(HttpClientTest, StreamsCloseDelimitedBodyAndDoesNotPoolIt) {
  TestServer server(io_);
  Gate first_piece_seen(io_);
  spawn([&]() -> awaitable<void> {
    auto socket = co_await server.accept();
    std::string pending;
    co_await read_request(socket, pending);
    co_await send(socket, "HTTP/1.1 200 OK\r\nConnection: close\r\n\r\npart1");
    co_await first_piece_seen.wait();
    co_await send(socket, "part2");
    socket.close();
  });
  run([&]() -> awaitable<void> {
    auto call = client_.call();
    CO_ASSERT_TRUE((co_await call->start(request(server.url("/")), timeouts_)).ok());
    auto first = co_await call->read_some();
    CO_ASSERT_TRUE(first.ok());
    EXPECT_EQ(*first, "part1");
    first_piece_seen.open();
    auto rest = co_await call->read_all(1024);
    CO_ASSERT_TRUE(rest.ok());
    EXPECT_EQ(*rest, "part2");
  });
  EXPECT_EQ(client_.idle_connections(), 0u);
}

}  // namespace
}  // namespace bc::net
