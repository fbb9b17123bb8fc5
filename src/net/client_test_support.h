// What the upstream client's tests share: small scripted servers on 127.0.0.1 (port 0), all
// on the test's one io_context, and a fixture that runs the client side within a deadline.
#pragma once

#include <gtest/gtest.h>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/read_until.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <optional>

#include <unistd.h>

#include "net/tls_test_support.h"

#include "net/http_client.h"

namespace bc::net::testing_client {

namespace asio = boost::asio;
namespace ssl = asio::ssl;
using asio::use_awaitable;
using tcp = asio::ip::tcp;
using namespace std::chrono_literals;
using SteadyClock = std::chrono::steady_clock;
using testing::make_self_signed_cert;
using testing::SelfSignedCert;

// Servers expect their peer to go away at any point: errors are outcomes, not exceptions.
constexpr auto kTuple = asio::as_tuple(use_awaitable);

#define CO_ASSERT_TRUE(cond)             \
  if (!(cond)) {                         \
    ADD_FAILURE() << "expected: " #cond; \
    co_return;                           \
  }

inline void report(std::exception_ptr e) {
  if (!e) return;
  try {
    std::rethrow_exception(e);
  } catch (const std::exception& x) {
    ADD_FAILURE() << "coroutine threw: " << x.what();
  }
}

// The rest of a call's body, read piece by piece to its end; `pieces` counts the pieces.
inline awaitable<std::string> read_to_end(UpstreamCall& call, int* pieces = nullptr) {
  std::string body;
  for (;;) {
    auto piece = co_await call.read_some();
    if (!piece.ok()) {
      ADD_FAILURE() << "read_some failed: " << piece.error().message;
      co_return body;
    }
    if (piece->empty()) co_return body;
    body += *piece;
    if (pieces != nullptr) ++*pieces;
  }
}

struct TestServer {
  explicit TestServer(asio::io_context& io)
      : acceptor(io, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0)) {}
  unsigned short port() const { return acceptor.local_endpoint().port(); }
  std::string url(const std::string& target, const std::string& host = "127.0.0.1") const {
    return "http://" + host + ":" + std::to_string(port()) + target;
  }
  awaitable<tcp::socket> accept() {
    auto socket = co_await acceptor.async_accept(use_awaitable);
    ++accepted;
    co_return socket;
  }
  tcp::acceptor acceptor;
  int accepted = 0;
};

// One request head plus its Content-Length body; "" once the peer has closed. `pending` keeps
// bytes read past the request for the next one on the connection.
template <class Stream>
awaitable<std::string> read_request(Stream& stream, std::string& pending) {
  auto [ec, head_size] =
      co_await asio::async_read_until(stream, asio::dynamic_buffer(pending), "\r\n\r\n", kTuple);
  if (ec) co_return std::string{};
  std::string head = pending.substr(0, head_size);
  pending.erase(0, head_size);
  std::size_t length = 0;
  std::string lower = head;
  for (auto& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (const auto at = lower.find("content-length: "); at != std::string::npos) {
    length = std::stoul(lower.substr(at + 16));
  }
  if (pending.size() < length) {
    auto [body_ec, n] =
        co_await asio::async_read(stream, asio::dynamic_buffer(pending),
                                  asio::transfer_exactly(length - pending.size()), kTuple);
    if (body_ec) co_return std::string{};
  }
  std::string request = head + pending.substr(0, length);
  pending.erase(0, length);
  co_return request;
}

template <class Stream>
awaitable<void> send(Stream& stream, std::string data) {
  co_await asio::async_write(stream, asio::buffer(data), use_awaitable);
}

// Waits until the peer closes (EOF or reset) and says when.
inline awaitable<SteadyClock::time_point> wait_for_close(tcp::socket& socket) {
  char byte;
  for (;;) {
    auto [ec, n] = co_await socket.async_read_some(asio::buffer(&byte, 1), kTuple);
    if (ec) co_return SteadyClock::now();
  }
}

// A one-shot signal between the test's coroutines: wait() until open() is called.
struct Gate {
  explicit Gate(asio::io_context& io) : timer(io, SteadyClock::time_point::max()) {}
  awaitable<void> wait() { co_await timer.async_wait(kTuple); }
  void open() { timer.cancel(); }
  asio::steady_timer timer;
};

inline awaitable<void> sleep_for(std::chrono::milliseconds d) {
  asio::steady_timer timer(co_await asio::this_coro::executor, d);
  co_await timer.async_wait(use_awaitable);
}

class HttpClientTest : public ::testing::Test {
 protected:
  // Runs the client side `body` (servers are spawned before) until it finishes; fails the test
  // if that takes longer than 10 s.
  template <class F>
  void run(F body) {
    bool finished = false;
    asio::co_spawn(io_, std::move(body), [&](std::exception_ptr e) {
      report(e);
      finished = true;
      io_.stop();
    });
    io_.run_for(10s);
    EXPECT_TRUE(finished) << "the client side did not finish in time";
  }

  template <class F>
  void spawn(F server) {
    asio::co_spawn(io_, std::move(server), report);
  }

  // Serves every connection of `server` with `response` for each request, until the peer
  // closes.
  void serve(TestServer& server, std::string response) {
    spawn([this, &server, response]() -> awaitable<void> {
      for (;;) {
        auto socket = co_await server.accept();
        spawn([socket = std::move(socket), response]() mutable -> awaitable<void> {
          std::string pending;
          while (!(co_await read_request(socket, pending)).empty()) {
            co_await send(socket, response);
          }
        });
      }
    });
  }

  UpstreamRequest request(std::string url) {
    UpstreamRequest r;
    r.url = std::move(url);
    r.headers = {{"Authorization", "Bearer sk-test-secret"}, {"Content-Type", "application/json"}};
    r.body = R"({"a":1})";
    return r;
  }

  // One call read to its end; the body, or the error's message prefixed with "error: ".
  // (No default argument: GCC 12 destroys a defaulted temporary of a coroutine call twice.)
  awaitable<std::string> fetch(HttpClient& client, const std::string& url) {
    const TlsPolicy tls;
    co_return co_await fetch(client, url, tls);
  }
  awaitable<std::string> fetch(HttpClient& client, const std::string& url, const TlsPolicy& tls) {
    auto call = client.call(tls);
    auto started = co_await call->start(request(url), timeouts_);
    if (!started) co_return "error: " + started.error().message;
    auto body = co_await call->read_all(1 << 20);
    co_return body ? *body : "error: " + body.error().message;
  }

  asio::io_context io_;
  HttpClient client_{io_.get_executor(), HttpClientOptions{}};
  Timeouts timeouts_{2000ms, 2000ms, 2000ms};
};

}  // namespace bc::net::testing_client
