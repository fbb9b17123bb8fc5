// The client against small scripted servers on 127.0.0.1 (port 0), all on the test's one
// io_context, each test bounded by run()'s deadline.
#include "net/http_client.h"

#include "net/client_test_support.h"

namespace bc::net {
namespace {

using namespace testing_client;
namespace asio = boost::asio;
namespace ssl = asio::ssl;
using asio::use_awaitable;
using tcp = asio::ip::tcp;
using namespace std::chrono_literals;
using SteadyClock = std::chrono::steady_clock;
using testing::make_self_signed_cert;
using testing::SelfSignedCert;

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

TEST_F(HttpClientTest, ConnectRefusedIsARetryableUpstreamError) {
  unsigned short port = 0;
  {
    TestServer closed(io_);
    port = closed.port();
  }
  run([&]() -> awaitable<void> {
    auto call = client_.call();
    auto started =
        co_await call->start(request("http://127.0.0.1:" + std::to_string(port) + "/"), timeouts_);
    CO_ASSERT_TRUE(!started.ok());
    EXPECT_EQ(started.error().kind, ErrorKind::kUpstream);
    EXPECT_EQ(started.error().code, "connect_failed");
    EXPECT_TRUE(started.error().retryable);
    EXPECT_NE(started.error().message.find("127.0.0.1:" + std::to_string(port)), std::string::npos)
        << started.error().message;
  });
}

TEST_F(HttpClientTest, FirstByteTimeoutNamesTimeoutAndOriginButNoHeaders) {
  TestServer server(io_);
  spawn([&]() -> awaitable<void> {
    auto socket = co_await server.accept();
    std::string pending;
    co_await read_request(socket, pending);
    co_await wait_for_close(socket);  // never answers
  });
  timeouts_.first_byte = 200ms;
  run([&]() -> awaitable<void> {
    auto call = client_.call();
    const auto begin = SteadyClock::now();
    auto started =
        co_await call->start(request(server.url("/slow?key=sk-query-secret")), timeouts_);
    const auto waited = SteadyClock::now() - begin;
    CO_ASSERT_TRUE(!started.ok());
    const Error& error = started.error();
    EXPECT_EQ(error.kind, ErrorKind::kTimeout);
    EXPECT_EQ(error.code, "first_byte_timeout");
    EXPECT_NE(error.message.find("first_byte"), std::string::npos) << error.message;
    EXPECT_NE(error.message.find("127.0.0.1:" + std::to_string(server.port())), std::string::npos);
    EXPECT_EQ(error.message.find("sk-test-secret"), std::string::npos);
    EXPECT_EQ(error.message.find("sk-query-secret"), std::string::npos);
    EXPECT_GE(waited, 200ms);
    EXPECT_LT(waited, 1500ms);
  });
}

TEST_F(HttpClientTest, IdleTimeoutMidBody) {
  TestServer server(io_);
  spawn([&]() -> awaitable<void> {
    auto socket = co_await server.accept();
    std::string pending;
    co_await read_request(socket, pending);
    co_await send(socket, "HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n0123456789");
    co_await wait_for_close(socket);  // the other 90 bytes never come
  });
  timeouts_.idle = 200ms;
  run([&]() -> awaitable<void> {
    auto call = client_.call();
    CO_ASSERT_TRUE((co_await call->start(request(server.url("/")), timeouts_)).ok());
    auto first = co_await call->read_some();
    CO_ASSERT_TRUE(first.ok());
    EXPECT_EQ(*first, "0123456789");
    auto stalled = co_await call->read_some();
    CO_ASSERT_TRUE(!stalled.ok());
    EXPECT_EQ(stalled.error().kind, ErrorKind::kTimeout);
    EXPECT_EQ(stalled.error().code, "idle_timeout");
    EXPECT_NE(stalled.error().message.find("idle"), std::string::npos);
  });
  EXPECT_EQ(client_.idle_connections(), 0u);
}

TEST_F(HttpClientTest, CancelDuringPendingReadClosesUpstreamConnectionPromptly) {
  TestServer server(io_);
  std::optional<SteadyClock::time_point> server_saw_close;
  spawn([&]() -> awaitable<void> {
    auto socket = co_await server.accept();
    std::string pending;
    co_await read_request(socket, pending);
    co_await send(socket, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n");
    server_saw_close = co_await wait_for_close(socket);
  });
  run([&]() -> awaitable<void> {
    auto call = client_.call();
    CO_ASSERT_TRUE((co_await call->start(request(server.url("/")), timeouts_)).ok());
    CO_ASSERT_TRUE((co_await call->read_some()).ok());
    SteadyClock::time_point cancelled_at;
    spawn([&]() -> awaitable<void> {  // the gateway's "client went away"
      co_await sleep_for(50ms);
      cancelled_at = SteadyClock::now();
      call->cancel();
    });
    auto pending = co_await call->read_some();  // nothing more comes until the cancel
    const auto returned_after = SteadyClock::now() - cancelled_at;
    CO_ASSERT_TRUE(!pending.ok());
    EXPECT_EQ(pending.error().kind, ErrorKind::kUpstream);
    EXPECT_EQ(pending.error().code, "cancelled");
    EXPECT_LT(returned_after, 500ms);
    for (int i = 0; i < 100 && !server_saw_close; ++i) co_await sleep_for(10ms);
    CO_ASSERT_TRUE(server_saw_close.has_value());
    EXPECT_LT(*server_saw_close - cancelled_at, 1s);
    auto again = co_await call->read_some();
    EXPECT_FALSE(again.ok());
  });
  EXPECT_EQ(client_.idle_connections(), 0u);
}

TEST_F(HttpClientTest, CancelBeforeStartFailsStart) {
  run([&]() -> awaitable<void> {
    auto call = client_.call();
    call->cancel();
    auto started = co_await call->start(request("http://127.0.0.1:9/"), timeouts_);
    CO_ASSERT_TRUE(!started.ok());
    EXPECT_EQ(started.error().code, "cancelled");
  });
}

TEST_F(HttpClientTest, RetriesOnceOnFreshConnectionWhenReusedOneDiesSilently) {
  TestServer server(io_);
  spawn([&]() -> awaitable<void> {
    {
      auto socket = co_await server.accept();
      std::string pending;
      co_await read_request(socket, pending);
      co_await send(socket, "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nfirst");
      // The keep-alive connection dies just as the second request arrives: the race every
      // pooled client meets when a server closes idle connections.
      co_await read_request(socket, pending);
      socket.close();
    }
    auto socket = co_await server.accept();
    std::string pending;
    co_await read_request(socket, pending);
    co_await send(socket, "HTTP/1.1 200 OK\r\nContent-Length: 6\r\n\r\nsecond");
    co_await wait_for_close(socket);
  });
  run([&]() -> awaitable<void> {
    EXPECT_EQ(co_await fetch(client_, server.url("/")), "first");
    EXPECT_EQ(co_await fetch(client_, server.url("/")), "second");
  });
  EXPECT_EQ(server.accepted, 2);
}

TEST_F(HttpClientTest, SkipsPooledConnectionTheServerClosedWhileIdle) {
  TestServer server(io_);
  spawn([&]() -> awaitable<void> {
    for (int i = 0; i < 2; ++i) {
      auto socket = co_await server.accept();
      std::string pending;
      co_await read_request(socket, pending);
      co_await send(socket, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok");
      socket.close();  // without saying Connection: close
    }
  });
  run([&]() -> awaitable<void> {
    EXPECT_EQ(co_await fetch(client_, server.url("/")), "ok");
    co_await sleep_for(50ms);  // let the FIN arrive
    EXPECT_EQ(co_await fetch(client_, server.url("/")), "ok");
  });
  EXPECT_EQ(server.accepted, 2);
}

TEST_F(HttpClientTest, ReadAllFailsWhenBodyExceedsMax) {
  TestServer server(io_);
  serve(server,
        "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
        "32\r\n" +
            std::string(50, 'x') + "\r\n32\r\n" + std::string(50, 'y') + "\r\n32\r\n" +
            std::string(50, 'z') + "\r\n0\r\n\r\n");
  run([&]() -> awaitable<void> {
    auto call = client_.call();
    CO_ASSERT_TRUE((co_await call->start(request(server.url("/")), timeouts_)).ok());
    auto body = co_await call->read_all(100);
    CO_ASSERT_TRUE(!body.ok());
    EXPECT_EQ(body.error().code, "response_too_large");
  });
  EXPECT_EQ(client_.idle_connections(), 0u);
}

TEST_F(HttpClientTest, ReadAllFailsEarlyOnContentLengthOverMax) {
  TestServer server(io_);
  serve(server, "HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n" + std::string(1000, 'x'));
  run([&]() -> awaitable<void> {
    auto call = client_.call();
    CO_ASSERT_TRUE((co_await call->start(request(server.url("/")), timeouts_)).ok());
    auto body = co_await call->read_all(999);
    CO_ASSERT_TRUE(!body.ok());
    EXPECT_EQ(body.error().code, "response_too_large");
  });
}

TEST_F(HttpClientTest, ManyDistinctUrlsEachReachTheirOwnTarget) {
  // Parsed URLs are kept per client and the store is emptied when it holds 1,024: every call
  // across that point must still go to its own target on the pooled connection.
  TestServer server(io_);
  spawn([&]() -> awaitable<void> {
    auto socket = co_await server.accept();
    std::string pending;
    for (;;) {
      const std::string seen = co_await read_request(socket, pending);
      if (seen.empty()) co_return;
      const auto start = seen.find(' ') + 1;
      const std::string target = seen.substr(start, seen.find(' ', start) - start);
      co_await send(socket, "HTTP/1.1 200 OK\r\nContent-Length: " + std::to_string(target.size()) +
                                "\r\n\r\n" + target);
    }
  });
  run([&]() -> awaitable<void> {
    for (int i = 0; i < 1100; ++i) {
      const std::string target = "/v1/chat?n=" + std::to_string(i % 1050);
      const std::string body = co_await fetch(client_, server.url(target));
      if (body != target) {
        ADD_FAILURE() << "call " << i << " to " << target << " got " << body;
        co_return;
      }
    }
  });
  EXPECT_EQ(server.accepted, 1);
}

TEST_F(HttpClientTest, RejectsMockAndMalformedUrls) {
  run([&]() -> awaitable<void> {
    auto call = client_.call();
    auto started = co_await call->start(request("mock://glm/v1"), timeouts_);
    CO_ASSERT_TRUE(!started.ok());
    EXPECT_EQ(started.error().code, "invalid_upstream_url");
    auto other = client_.call();
    EXPECT_FALSE((co_await other->start(request("http://:80/"), timeouts_)).ok());
    // A bad URL is not remembered as anything else: it fails the same way every time.
    auto again = client_.call();
    auto repeated = co_await again->start(request("mock://glm/v1"), timeouts_);
    CO_ASSERT_TRUE(!repeated.ok());
    EXPECT_EQ(repeated.error().code, "invalid_upstream_url");
  });
}

TEST_F(HttpClientTest, RejectsHeaderValueWithLineBreakWithoutEchoingIt) {
  TestServer server(io_);
  serve(server, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok");
  run([&]() -> awaitable<void> {
    auto call = client_.call();
    auto req = request(server.url("/"));
    req.headers.push_back({"X-Api-Key", "sk-secret\r\nX-Injected: 1"});
    auto started = co_await call->start(req, timeouts_);
    CO_ASSERT_TRUE(!started.ok());
    EXPECT_NE(started.error().message.find("X-Api-Key"), std::string::npos);
    EXPECT_EQ(started.error().message.find("sk-secret"), std::string::npos);
  });
}

TEST_F(HttpClientTest, ReadAfterFailureRepeatsTheFailure) {
  TestServer server(io_);
  spawn([&]() -> awaitable<void> {
    auto socket = co_await server.accept();
    std::string pending;
    co_await read_request(socket, pending);
    co_await send(socket, "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc");
    socket.close();  // cut mid-body
  });
  run([&]() -> awaitable<void> {
    auto call = client_.call();
    CO_ASSERT_TRUE((co_await call->start(request(server.url("/")), timeouts_)).ok());
    auto body = co_await call->read_all(1024);
    CO_ASSERT_TRUE(!body.ok());
    EXPECT_EQ(body.error().code, "upstream_io");
    auto again = co_await call->read_some();
    CO_ASSERT_TRUE(!again.ok());
    EXPECT_EQ(again.error().code, "upstream_io");
  });
}

TEST_F(HttpClientTest, ResponseHeadOverLimitIsAnError) {
  TestServer server(io_);
  serve(server,
        "HTTP/1.1 200 OK\r\nX-Big: " + std::string(2000, 'h') + "\r\nContent-Length: 0\r\n\r\n");
  HttpClientOptions options;
  options.max_header_bytes = 1024;
  HttpClient client(io_.get_executor(), options);
  run([&]() -> awaitable<void> {
    const auto result = co_await fetch(client, server.url("/"));
    EXPECT_NE(result.find("exceeds 1024 bytes"), std::string::npos) << result;
  });
}

// --- TLS -------------------------------------------------------------------------------------

class HttpClientTlsTest : public HttpClientTest {
 protected:
  HttpClientTlsTest() : cert_(make_self_signed_cert()), server_tls_(ssl::context::tls_server) {
    server_tls_.use_certificate_chain(asio::buffer(cert_.cert_pem));
    server_tls_.use_private_key(asio::buffer(cert_.key_pem), ssl::context::pem);
    ca_file_ = std::filesystem::temp_directory_path() /
               ("bc_net_client_test_ca_" + std::to_string(::getpid()) + ".pem");
    std::ofstream(ca_file_) << cert_.cert_pem;
  }
  ~HttpClientTlsTest() override { std::filesystem::remove(ca_file_); }

  // Serves one TLS connection: handshake, then `ok` for each request. Records the SNI name.
  void serve_tls(TestServer& server) {
    spawn([this, &server]() -> awaitable<void> {
      auto socket = co_await server.accept();
      ssl::stream<tcp::socket> stream(std::move(socket), server_tls_);
      // A client that rejects the certificate aborts the handshake: an expected outcome.
      auto [ec] = co_await stream.async_handshake(ssl::stream_base::server, kTuple);
      if (ec) co_return;
      if (const char* sni = SSL_get_servername(stream.native_handle(), TLSEXT_NAMETYPE_host_name)) {
        sni_ = sni;
      }
      std::string pending;
      while (!(co_await read_request(stream, pending)).empty()) {
        co_await send(stream, "HTTP/1.1 200 OK\r\nContent-Length: 6\r\n\r\nsecure");
      }
    });
  }

  SelfSignedCert cert_;
  ssl::context server_tls_;
  std::filesystem::path ca_file_;
  std::string sni_;
};

TEST_F(HttpClientTlsTest, RejectsUntrustedCertificateWhenVerifyingPeer) {
  TestServer server(io_);
  serve_tls(server);
  run([&]() -> awaitable<void> {
    auto call = client_.call();
    auto started = co_await call->start(
        request("https://127.0.0.1:" + std::to_string(server.port()) + "/v1"), timeouts_);
    CO_ASSERT_TRUE(!started.ok());
    const Error& error = started.error();
    EXPECT_EQ(error.kind, ErrorKind::kUpstream);
    EXPECT_EQ(error.code, "tls_certificate_invalid");
    EXPECT_FALSE(error.retryable);  // every key of the model would meet the same certificate
    EXPECT_EQ(error.key_action, KeyAction::kNone);  // the certificate is not the key's fault
    EXPECT_NE(error.message.find("TLS handshake with 127.0.0.1:" + std::to_string(server.port()) +
                                 " failed: certificate verify failed"),
              std::string::npos)
        << error.message;
    EXPECT_NE(error.message.find("self-signed certificate"), std::string::npos) << error.message;
    EXPECT_NE(error.message.find("tls_verify: false"), std::string::npos) << error.message;
  });
}

TEST_F(HttpClientTlsTest, AcceptsCertificateTrustedThroughCaFileWithHostNameAndSni) {
  TestServer server(io_);
  serve_tls(server);
  HttpClientOptions options;
  options.ca_file = ca_file_.string();
  HttpClient client(io_.get_executor(), options);
  run([&]() -> awaitable<void> {
    const auto url = "https://localhost:" + std::to_string(server.port()) + "/v1";
    EXPECT_EQ(co_await fetch(client, url), "secure");
    EXPECT_EQ(co_await fetch(client, url), "secure");  // over the pooled TLS connection
  });
  EXPECT_EQ(server.accepted, 1);
  EXPECT_EQ(sni_, "localhost");
}

TEST_F(HttpClientTlsTest, AcceptsAddressLiteralMatchingIpSan) {
  TestServer server(io_);
  serve_tls(server);
  HttpClientOptions options;
  options.ca_file = ca_file_.string();
  HttpClient client(io_.get_executor(), options);
  run([&]() -> awaitable<void> {
    EXPECT_EQ(co_await fetch(client, "https://127.0.0.1:" + std::to_string(server.port()) + "/"),
              "secure");
  });
  EXPECT_EQ(sni_, "");  // no SNI for an address
}

TEST_F(HttpClientTlsTest, VerifyPeerOffAcceptsAnyCertificate) {
  TestServer server(io_);
  serve_tls(server);
  HttpClientOptions options;
  options.verify_peer = false;
  HttpClient client(io_.get_executor(), options);
  run([&]() -> awaitable<void> {
    EXPECT_EQ(co_await fetch(client, "https://127.0.0.1:" + std::to_string(server.port()) + "/"),
              "secure");
  });
}

TEST_F(HttpClientTlsTest, PolicyWithoutVerificationAcceptsSelfSignedCertificate) {
  TestServer server(io_);
  serve_tls(server);
  run([&]() -> awaitable<void> {
    const TlsPolicy no_verify{false, ""};
    EXPECT_EQ(co_await fetch(client_, "https://127.0.0.1:" + std::to_string(server.port()) + "/",
                             no_verify),
              "secure");
  });
}

TEST_F(HttpClientTlsTest, PolicyCaFileTrustsItsCertificate) {
  TestServer server(io_);
  serve_tls(server);
  run([&]() -> awaitable<void> {
    const auto url = "https://localhost:" + std::to_string(server.port()) + "/";
    const TlsPolicy tls{true, ca_file_.string()};
    EXPECT_EQ(co_await fetch(client_, url, tls), "secure");
    EXPECT_EQ(co_await fetch(client_, url, tls), "secure");  // pooled under the same policy
  });
  EXPECT_EQ(server.accepted, 1);
  EXPECT_EQ(client_.idle_connections(), 1u);
}

// The opt-out of one model must not leak to another on the same origin: a connection made
// without verification is never reused by a call that verifies.
TEST_F(HttpClientTlsTest, UnverifiedPooledConnectionIsNotReusedByVerifyingCall) {
  TestServer server(io_);
  serve_tls(server);
  serve_tls(server);
  run([&]() -> awaitable<void> {
    const auto url = "https://127.0.0.1:" + std::to_string(server.port()) + "/";
    const TlsPolicy no_verify{false, ""};
    EXPECT_EQ(co_await fetch(client_, url, no_verify), "secure");
    EXPECT_EQ(client_.idle_connections(), 1u);
    const auto verified = co_await fetch(client_, url);
    EXPECT_NE(verified.find("certificate verify failed"), std::string::npos) << verified;
    // The unverified connection is still pooled, for calls under its own policy only.
    EXPECT_EQ(client_.idle_connections(), 1u);
    EXPECT_EQ(co_await fetch(client_, url, no_verify), "secure");
  });
  EXPECT_EQ(server.accepted, 2);
}

TEST_F(HttpClientTlsTest, VerifyingCallDoesNotReuseConnectionTrustedThroughAnotherCaFile) {
  TestServer server(io_);
  serve_tls(server);
  serve_tls(server);
  run([&]() -> awaitable<void> {
    const auto url = "https://localhost:" + std::to_string(server.port()) + "/";
    const TlsPolicy trusted{true, ca_file_.string()};
    EXPECT_EQ(co_await fetch(client_, url, trusted), "secure");
    const auto other = co_await fetch(client_, url);
    EXPECT_NE(other.find("certificate verify failed"), std::string::npos) << other;
  });
  EXPECT_EQ(server.accepted, 2);
}

TEST_F(HttpClientTlsTest, UnloadableCaFileFailsTheCallWithoutConnecting) {
  TestServer server(io_);
  run([&]() -> awaitable<void> {
    const TlsPolicy missing{true, "/nonexistent/bc-ca.pem"};
    auto call = client_.call(missing);
    auto started = co_await call->start(
        request("https://127.0.0.1:" + std::to_string(server.port()) + "/"), timeouts_);
    CO_ASSERT_TRUE(!started.ok());
    EXPECT_EQ(started.error().code, "tls_ca_file");
    EXPECT_FALSE(started.error().retryable);
    EXPECT_NE(started.error().message.find("/nonexistent/bc-ca.pem"), std::string::npos);
  });
  EXPECT_EQ(server.accepted, 0);
}

TEST_F(HttpClientTlsTest, PolicyIsIgnoredForPlainHttp) {
  TestServer server(io_);
  serve(server, "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nplain");
  run([&]() -> awaitable<void> {
    const TlsPolicy no_verify{false, ""};
    EXPECT_EQ(co_await fetch(client_, server.url("/"), no_verify), "plain");
    // Plain connections are shared whatever the policy.
    EXPECT_EQ(co_await fetch(client_, server.url("/")), "plain");
  });
  EXPECT_EQ(server.accepted, 1);
}

TEST(CheckCaFile, LoadsPemBundleAndNamesFileThatDoesNotLoad) {
  const auto path = std::filesystem::temp_directory_path() /
                    ("bc_check_ca_" + std::to_string(::getpid()) + ".pem");
  std::ofstream(path) << make_self_signed_cert().cert_pem;
  EXPECT_TRUE(check_ca_file(path.string()).ok());
  std::ofstream(path) << "not a certificate\n";
  auto garbage = check_ca_file(path.string());
  ASSERT_FALSE(garbage.ok());
  EXPECT_NE(garbage.error().message.find(path.string()), std::string::npos);
  std::filesystem::remove(path);
  auto missing = check_ca_file(path.string());
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.error().message.find("cannot load the CA file"), std::string::npos);
}

}  // namespace
}  // namespace bc::net
