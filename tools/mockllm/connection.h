// One client connection of the mock: its socket and read-ahead buffer. Every operation reports
// whether the client is still there instead of throwing, because a client going away is a
// normal event the mock exists to observe and count.
//
// Threading: used by the one coroutine that owns the connection, on the server's io_context.
#pragma once

#include <memory>
#include <optional>
#include <string_view>

#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/empty_body.hpp>
#include <boost/beast/http/message.hpp>
#include <boost/beast/http/string_body.hpp>

#include "core/clock.h"

namespace bc::mockllm {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using asio::awaitable;
using tcp = asio::ip::tcp;
using Request = http::request<http::string_body>;

struct ReadOutcome {
  std::optional<Request> request;
  // Set when bytes arrived that are not a request we accept (400) or whose body is too large
  // (413): answer with it, then close.
  int reject_status = 0;
};

class Connection {
 public:
  static constexpr std::size_t kBodyLimit = 32 * 1024 * 1024;
  using TlsStream = asio::ssl::stream<tcp::socket>;

  explicit Connection(tcp::socket socket);
  // An HTTPS connection: handshake() first.
  Connection(tcp::socket socket, asio::ssl::context& tls);

  // The TLS server handshake, bounded by `timeout`; false when it fails (a plain-HTTP client,
  // a client that rejects the certificate). Plain connections: true at once.
  awaitable<bool> handshake(Duration timeout);

  // The next request; no request on EOF, error, or when nothing arrives within `idle`.
  awaitable<ReadOutcome> read_request(Duration idle);

  // Waits `duration` while watching the read side of the socket: returns false as soon as the
  // client closes (EOF or reset), so an abandoned answer is noticed during a long latency or
  // gap, not only at the next write. Bytes a pipelining client sends meanwhile are kept for
  // the next read_request().
  awaitable<bool> pause(Duration duration);

  // Each write is one socket write; false when the client is gone.
  awaitable<bool> write(http::response<http::string_body>& response);
  // Only the head; the body follows with write_chunk (chunked) or write_raw (Content-Length).
  awaitable<bool> write_head(http::response<http::empty_body>& head);
  awaitable<bool> write_chunk(std::string_view data);
  awaitable<bool> write_last_chunk();
  awaitable<bool> write_raw(std::string_view data);

  // Closes the socket at once; pending operations complete with an error.
  void close();
  bool is_open() const { return socket().is_open() && !gone_; }

 private:
  // The TCP socket under either kind of connection.
  tcp::socket& socket() { return tls_ ? tls_->next_layer() : socket_; }
  const tcp::socket& socket() const { return tls_ ? tls_->next_layer() : socket_; }
  // Calls `f` with the stream to read and write: the TLS stream when there is one.
  template <class F>
  decltype(auto) visit(F&& f) {
    if (tls_) return f(*tls_);
    return f(socket_);
  }

  tcp::socket socket_;  // unused (never opened) when tls_ is set
  beast::flat_buffer buffer_;
  asio::steady_timer timer_;
  std::unique_ptr<TlsStream> tls_;
  bool gone_ = false;  // the client closed, or a write failed
};

}  // namespace bc::mockllm
