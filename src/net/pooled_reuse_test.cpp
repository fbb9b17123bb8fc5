// A pooled upstream connection is reused only when its last answer ended exactly at the end
// of what was received and nothing arrived while it was idle. Each test's server sends bytes
// nobody asked for (an extra response, a stray byte) on the first connection and answers
// every request with its own target: a client that reused the poisoned connection would read
// the extra response as the answer to its next request, and every later answer would be one
// behind. The servers count their connections and the requests each one carried.
#include <cstdio>

#include <netinet/in.h>
#include <netinet/tcp.h>

#include <boost/beast/core/stream_traits.hpp>
#include <string>
#include <vector>

#include "net/client_test_support.h"

namespace bc::net {
namespace {

using namespace testing_client;
using namespace std::chrono_literals;
namespace ssl = asio::ssl;
using asio::use_awaitable;
using tcp = asio::ip::tcp;

namespace beast = boost::beast;
using Cork = asio::detail::socket_option::boolean<IPPROTO_TCP, TCP_CORK>;

const TlsPolicy kDefaultTls{};
constexpr std::string_view kInjected = "HTTP/1.1 200 OK\r\nContent-Length: 8\r\n\r\ninjected";

// How the answer to a connection's first request carries its poison.
enum class Poison {
  kAfterLengthBody,   // an extra response right behind a Content-Length body, in one write
  kAfterChunkedBody,  // the same behind a chunked body
  kSecondWrite,       // an extra response in a write of its own, sent with the answer
  kByteWhileIdle,     // one byte, 30 ms after the answer (the connection sits in the pool)
};

std::string answer_to(const std::string& request, bool chunked) {
  const auto target = request.substr(
      request.find(' ') + 1, request.find(' ', request.find(' ') + 1) - request.find(' ') - 1);
  if (chunked) {
    char size[16];
    std::snprintf(size, sizeof size, "%zx", target.size());
    return "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n" + std::string(size) + "\r\n" +
           target + "\r\n0\r\n\r\n";
  }
  return "HTTP/1.1 200 OK\r\nContent-Length: " + std::to_string(target.size()) + "\r\n\r\n" +
         target;
}

// Serves connections of either kind; `requests[i]` counts the requests connection i carried.
struct PoisoningServer {
  template <class Stream>
  awaitable<void> serve(Stream& stream, std::size_t index, Poison poison) {
    std::string pending;
    for (;;) {
      auto request = co_await read_request(stream, pending);
      if (request.empty()) co_return;
      const bool first = requests[index]++ == 0 && index == 0;
      std::string answer = answer_to(request, first && poison == Poison::kAfterChunkedBody);
      if (first && (poison == Poison::kAfterLengthBody || poison == Poison::kAfterChunkedBody)) {
        answer += kInjected;
      }
      // The second write's bytes leave with the first's (TCP_CORK): over TLS, two records
      // that the client receives in one read from the socket.
      const bool corked = first && poison == Poison::kSecondWrite;
      if (corked) beast::get_lowest_layer(stream).set_option(Cork(true));
      auto [ec, n] = co_await asio::async_write(stream, asio::buffer(answer), kTuple);
      if (ec) co_return;
      if (corked) {
        co_await asio::async_write(stream, asio::buffer(kInjected), kTuple);
        beast::get_lowest_layer(stream).set_option(Cork(false));
      }
      if (first && poison == Poison::kByteWhileIdle) {
        co_await sleep_for(30ms);
        co_await asio::async_write(stream, asio::buffer("X", 1), kTuple);
      }
    }
  }
  std::vector<int> requests;
};

class PooledReuseTest : public HttpClientTest {
 protected:
  PooledReuseTest() : cert_(testing::make_self_signed_cert()), tls_(ssl::context::tls_server) {
    tls_.use_certificate_chain(asio::buffer(cert_.cert_pem));
    tls_.use_private_key(asio::buffer(cert_.key_pem), ssl::context::pem);
  }

  void serve_plain(TestServer& server, PoisoningServer& poisoner, Poison poison) {
    spawn([this, &server, &poisoner, poison]() -> awaitable<void> {
      for (;;) {
        auto socket = co_await server.accept();
        const std::size_t index = poisoner.requests.size();
        poisoner.requests.push_back(0);
        spawn([socket = std::move(socket), &poisoner, index, poison]() mutable -> awaitable<void> {
          co_await poisoner.serve(socket, index, poison);
        });
      }
    });
  }

  void serve_tls(TestServer& server, PoisoningServer& poisoner, Poison poison) {
    spawn([this, &server, &poisoner, poison]() -> awaitable<void> {
      for (;;) {
        auto socket = co_await server.accept();
        const std::size_t index = poisoner.requests.size();
        poisoner.requests.push_back(0);
        spawn([this, socket = std::move(socket), &poisoner, index,
               poison]() mutable -> awaitable<void> {
          ssl::stream<tcp::socket> stream(std::move(socket), tls_);
          auto [ec] = co_await stream.async_handshake(ssl::stream_base::server, kTuple);
          if (!ec) co_await poisoner.serve(stream, index, poison);
        });
      }
    });
  }

  // Six calls one after another, each of which must get the answer to its own request.
  void expect_own_answers(const std::string& base, const TlsPolicy& tls, bool pause_after_first) {
    run([&]() -> awaitable<void> {
      for (int i = 0; i < 6; ++i) {
        const std::string target = "/call-" + std::to_string(i);
        EXPECT_EQ(co_await fetch(client_, base + target, tls), target);
        if (i == 0 && pause_after_first) co_await sleep_for(80ms);
      }
    });
  }

  testing::SelfSignedCert cert_;
  ssl::context tls_;
};

void expect_poisoned_connection_closed(const PoisoningServer& poisoner) {
  ASSERT_EQ(poisoner.requests.size(), 2u) << "one poisoned connection, then one clean one";
  EXPECT_EQ(poisoner.requests[0], 1) << "the poisoned connection carried a second request";
  EXPECT_EQ(poisoner.requests[1], 5);
}

TEST_F(PooledReuseTest, AnExtraResponseAfterALengthBodyClosesTheConnection) {
  TestServer server(io_);
  PoisoningServer poisoner;
  serve_plain(server, poisoner, Poison::kAfterLengthBody);
  expect_own_answers(server.url(""), kDefaultTls, false);
  expect_poisoned_connection_closed(poisoner);
}

TEST_F(PooledReuseTest, AnExtraResponseAfterAChunkedBodyClosesTheConnection) {
  TestServer server(io_);
  PoisoningServer poisoner;
  serve_plain(server, poisoner, Poison::kAfterChunkedBody);
  expect_own_answers(server.url(""), kDefaultTls, false);
  expect_poisoned_connection_closed(poisoner);
}

TEST_F(PooledReuseTest, AnExtraResponseInASecondWriteClosesTheConnection) {
  TestServer server(io_);
  PoisoningServer poisoner;
  serve_plain(server, poisoner, Poison::kSecondWrite);
  expect_own_answers(server.url(""), kDefaultTls, false);
  expect_poisoned_connection_closed(poisoner);
}

TEST_F(PooledReuseTest, AByteArrivingOnAnIdlePooledConnectionClosesIt) {
  TestServer server(io_);
  PoisoningServer poisoner;
  serve_plain(server, poisoner, Poison::kByteWhileIdle);
  expect_own_answers(server.url(""), kDefaultTls, true);
  expect_poisoned_connection_closed(poisoner);
}

// Over TLS the extra bytes come inside records the client has already received and decrypted
// (or not yet decrypted): a peek at the socket sees nothing of them.
TEST_F(PooledReuseTest, OverTlsAnExtraResponseInTheSameRecordClosesTheConnection) {
  TestServer server(io_);
  PoisoningServer poisoner;
  serve_tls(server, poisoner, Poison::kAfterLengthBody);
  const TlsPolicy no_verify{false, ""};
  expect_own_answers("https://127.0.0.1:" + std::to_string(server.port()), no_verify, false);
  expect_poisoned_connection_closed(poisoner);
}

TEST_F(PooledReuseTest, OverTlsAnExtraResponseInTheSameFlightClosesTheConnection) {
  TestServer server(io_);
  PoisoningServer poisoner;
  serve_tls(server, poisoner, Poison::kSecondWrite);
  const TlsPolicy no_verify{false, ""};
  expect_own_answers("https://127.0.0.1:" + std::to_string(server.port()), no_verify, false);
  expect_poisoned_connection_closed(poisoner);
}

TEST_F(PooledReuseTest, OverTlsARecordArrivingWhileIdleClosesTheConnection) {
  TestServer server(io_);
  PoisoningServer poisoner;
  serve_tls(server, poisoner, Poison::kByteWhileIdle);
  const TlsPolicy no_verify{false, ""};
  expect_own_answers("https://127.0.0.1:" + std::to_string(server.port()), no_verify, true);
  expect_poisoned_connection_closed(poisoner);
}

// A clean connection is still reused: the checks close only what is poisoned.
TEST_F(PooledReuseTest, ACleanConnectionIsReusedOverPlainAndTls) {
  TestServer plain(io_);
  TestServer secure(io_);
  PoisoningServer a;
  PoisoningServer b;
  serve_plain(plain, a, Poison::kByteWhileIdle);
  serve_tls(secure, b, Poison::kByteWhileIdle);
  a.requests.reserve(4);
  b.requests.reserve(4);
  const TlsPolicy no_verify{false, ""};
  const std::string secure_base = "https://127.0.0.1:" + std::to_string(secure.port());
  run([&]() -> awaitable<void> {
    // Connection 0 of each is poisoned; the rest are clean and must carry every later call.
    EXPECT_EQ(co_await fetch(client_, plain.url("/p0")), "/p0");
    EXPECT_EQ(co_await fetch(client_, secure_base + "/s0", no_verify), "/s0");
    co_await sleep_for(80ms);
    for (int i = 1; i <= 4; ++i) {
      const std::string p = "/p" + std::to_string(i);
      const std::string q = "/s" + std::to_string(i);
      EXPECT_EQ(co_await fetch(client_, plain.url(p)), p);
      EXPECT_EQ(co_await fetch(client_, secure_base + q, no_verify), q);
    }
  });
  EXPECT_EQ(a.requests, (std::vector<int>{1, 4}));
  EXPECT_EQ(b.requests, (std::vector<int>{1, 4}));
}

// A body that trickles in a byte at a time ends at the request's deadline, however often its
// bytes come: each read waits at most what is left of the deadline, not a whole idle timeout.
TEST_F(HttpClientTest, ATricklingBodyEndsAtTheRequestDeadline) {
  TestServer server(io_);
  spawn([&]() -> awaitable<void> {
    auto socket = co_await server.accept();
    std::string pending;
    co_await read_request(socket, pending);
    co_await send(socket, "HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n");
    for (int i = 0; i < 1000; ++i) {
      auto [ec, n] = co_await asio::async_write(socket, asio::buffer("x", 1), kTuple);
      if (ec) co_return;
      co_await sleep_for(20ms);
    }
  });
  run([&]() -> awaitable<void> {
    Timeouts timeouts = timeouts_;  // idle 2 s: every byte comes well within it
    const auto started = Clock::now();
    timeouts.deadline = started + 300ms;
    auto call = client_.call();
    CO_ASSERT_TRUE((co_await call->start(request(server.url("/slow")), timeouts)).ok());
    auto body = co_await call->read_all(1 << 20);
    const auto took = Clock::now() - started;
    CO_ASSERT_TRUE(!body.ok());
    EXPECT_EQ(body.error().code, "deadline_exceeded") << body.error().message;
    EXPECT_FALSE(body.error().retryable);
    EXPECT_GE(took, 300ms);
    EXPECT_LT(took, 1500ms);
  });
}

}  // namespace
}  // namespace bc::net
