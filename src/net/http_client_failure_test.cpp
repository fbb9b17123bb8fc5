// The client's failures against scripted servers on 127.0.0.1: refused connects, timeouts,
// cancellation, dead pooled connections, size limits and refused URLs or headers.
#include "net/http_client.h"

#include "net/client_test_support.h"

namespace bc::net {
namespace {

using namespace testing_client;  // asio, ssl, tcp, kTuple, the servers and the fixture

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

}  // namespace
}  // namespace bc::net
