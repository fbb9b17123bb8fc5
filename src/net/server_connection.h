// Inside the server (net/http_server.h): one worker thread's state, and the client connection
// that reads requests, is the handler's ResponseWriter and watches for its client leaving, in
// a plain and a TLS variant. Its members are defined by job in server_connection_read.cpp,
// server_connection_write.cpp and server_connection_watch.cpp, each instantiating them for
// both kinds of stream.
#pragma once

#include <chrono>
#include <functional>
#include <list>
#include <optional>
#include <span>
#include <string>
#include <thread>
#include <type_traits>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/cancellation_signal.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/ssl/ssl_stream.hpp>

#include "net/deadline.h"
#include "net/http_server.h"

namespace bc::net {

// Internal to the server's files: these names are theirs.
namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;
using boost::system::error_code;

inline constexpr auto kTuple = asio::as_tuple(asio::use_awaitable);
using PlainStream = tcp::socket;
using TlsStream = beast::ssl_stream<tcp::socket>;
// Longest wait for the client's close_notify when a TLS connection ends.
inline constexpr std::chrono::milliseconds kTlsShutdownTimeout{2000};
inline constexpr std::chrono::milliseconds kTlsShutdownWhenStopping{100};
// How long a call runs before its client is watched for leaving. Most proxied calls end
// sooner and then cost no watch at all: no peek (a system call) to start, no cancel and
// aborted handler to end it. A model's answer takes seconds, so the watch still stops a call
// whose client left long before it would end.
inline constexpr std::chrono::milliseconds kWatchDelay{50};
// Longest time a connection reads and drops what its client still sends after an answer that
// left the request's body unread (see ServerConnection::linger()).
inline constexpr std::chrono::milliseconds kLingerTime{2000};

// What the worker needs of a connection of either kind (plain or TLS): only the start and
// the shutdown calls go through these virtuals, never a read or a write.
class ConnectionBase : public ResponseWriter {
 public:
  virtual awaitable<void> run() = 0;
  // Shutdown: a connection waiting for its next request is closed now; one serving a request
  // finishes it and then closes.
  virtual void close_if_idle() = 0;
  virtual void force_close() = 0;
};

struct Server::Worker {
  int index = 0;
  // One thread runs it, and every socket it serves is read, written and closed on that thread
  // (shutdown too is posted to it): its reactor takes no lock per I/O operation. Posting from
  // other threads stays safe (the scheduler and the reactor's registrations still lock).
  asio::io_context ioc{BOOST_ASIO_CONCURRENCY_HINT_UNSAFE_IO};
  std::optional<tcp::acceptor> acceptor;
  Handler handler;
  HeadCheck check_head;
  Server::Held* held = nullptr;  // the server's, shared by every worker
  std::list<ConnectionBase*> connections;
  std::optional<asio::steady_timer> grace_timer;
  bool stopping = false;
  std::thread thread;

  void begin_shutdown(std::chrono::milliseconds grace);
  void connection_ended(std::list<ConnectionBase*>::iterator it);
  // Reserves `bytes` of request body against `limit` (0: none); false when they do not fit.
  bool reserve_body(std::size_t bytes, std::size_t limit);
  void release_body(std::size_t bytes);
};

// One client connection: reads requests one after another, hands each to the handler and is
// the handler's ResponseWriter. Lives in its own coroutine frame on one worker thread.
// `Stream` is PlainStream or TlsStream: the TLS handshake, close_notify and the disconnect
// watch differ; everything else is the same code on either stream.
template <class Stream>
class ServerConnection final : public ConnectionBase {
 public:
  static constexpr bool kTls = std::is_same_v<Stream, TlsStream>;

  // `tls...`: the server's ssl::context for a TlsStream, nothing for a PlainStream.
  template <class... TlsContext>
  ServerConnection(Server::Worker& worker, tcp::socket socket, const ServerOptions& options,
                   TlsContext&... tls)
      : worker_(worker),
        options_(options),
        stream_(std::move(socket), tls...),
        deadline_(lowest()),
        watch_alarm_(stream_.get_executor(), [this] { start_watch(); }) {}
  ~ServerConnection() override { release_body(); }

  awaitable<void> run() override;

  void close_if_idle() override {
    error_code ignored;
    if (idle_) lowest().close(ignored);
  }
  void force_close() override {
    error_code ignored;
    lowest().close(ignored);
  }

  // ResponseWriter
  awaitable<void> send(int status, std::string_view content_type, std::string body,
                       const Headers& extra) override;
  Status begin_stream(int status, std::string_view content_type, const Headers& extra) override;
  awaitable<Status> write(std::string_view data) override;
  awaitable<Status> end_stream(std::string_view last_data = {}) override;
  bool started() const override { return started_; }
  bool body_skipped() const override { return body_skipped_; }
  int worker() const override { return worker_.index; }
  std::string remote_address() const override {
    error_code ec;
    // lowest() is not const (Beast's layers are reached through non-const references); asking
    // the socket for its peer changes nothing.
    const auto peer = const_cast<ServerConnection*>(this)->lowest().remote_endpoint(ec);
    if (ec) return {};
    return peer.address().to_string() + ":" + std::to_string(peer.port());
  }
  void on_client_gone(std::function<void()> on_gone) override;
  bool client_gone() const override { return gone_; }

 private:
  // Reads the next request; nullopt ends the connection (EOF, timeout, shutdown, or an error
  // already answered). Its own coroutine, so that the parser's frame is freed before the
  // handler runs: an open stream does not keep it.
  awaitable<std::optional<HttpRequest>> read_request();
  // Feeds what the buffer already holds to `parser`, as Beast's read operations would, up to
  // the end of the header (or, eager, of the message). True when it got there or failed (`ec`);
  // false when it needs more bytes, which a Beast read operation then waits for.
  bool parse_buffered(http::request_parser<http::string_body>& parser, error_code& ec);
  // Sends what the socket takes of `pieces` now, without waiting (plain TCP only; a TLS
  // record waits for write_rest()); returns the pieces left. Sets broken_ on a failure.
  std::span<asio::const_buffer> write_now(std::span<asio::const_buffer> pieces);
  // Writes the rest, waiting for the socket with the write timeout; false when the client is
  // gone or too slow. (A coroutine of its own, entered only when something is left.)
  awaitable<bool> write_rest(std::span<asio::const_buffer> pieces);
  // Starts the watch (kWatchDelay after on_client_gone) unless it is no longer wanted.
  void start_watch();
  // TLS: the watch's coroutine (see on_client_gone).
  awaitable<void> watch();
  // Plain: the end of the watch's one-byte peek.
  void watched(error_code ec, std::size_t bytes);
  void client_left();
  awaitable<void> stop_watch();
  awaitable<void> send_error(int status, std::string message, std::string code);
  // Why read_request() read no request, answered by run() after it returns: its own frame
  // then holds no send_error() (GCC keeps every awaited call's temporaries in the frame, and a
  // frame above 1 KiB is one aligned allocation per request instead of a recycled block).
  struct Refusal {
    int status;
    std::string message;
    std::string code;
  };
  void refuse(int status, std::string message, std::string code);
  std::optional<Refusal> refusal_;
  awaitable<bool> send_continue();  // "100 Continue"; false when it could not be sent
  // After the head: the head check, and the reservation of the body's bytes. False when the
  // request is answered without reading its body (refused by either).
  bool admit_body(const http::request_parser<http::string_body>& parser);
  void release_body();
  // Reads and drops what the client still sends, for a bounded time (see kLingerTime).
  awaitable<void> linger();
  awaitable<void> close();
  // Sends the pending head (if any), `data` as one chunk (if not empty) and, when `last`, the
  // end of the chunked body: one write, so a stream's head goes out with its first bytes and
  // its end with its last ones.
  awaitable<Status> send_stream_bytes(std::string_view data, bool last);
  // The TCP socket under either kind of stream: closed here. A plain socket, not Beast's
  // tcp_stream: `deadline_` keeps the timeouts, and tcp_stream's layer (an executor work guard,
  // a shared state and a timer check around every read and write) would only add cost.
  tcp::socket& lowest() { return beast::get_lowest_layer(stream_); }

  Server::Worker& worker_;
  const ServerOptions& options_;
  Stream stream_;
  Deadline deadline_;
  beast::flat_buffer buffer_;
  std::optional<http::request_parser<http::string_body>> parser_;  // read_request()'s
  bool idle_ = true;

  // State of the request being served.
  unsigned version_ = 11;
  bool keep_alive_ = true;
  bool started_ = false;
  bool finished_ = false;
  bool broken_ = false;  // a write failed: the client is gone
  bool chunked_ = false;
  std::string head_;               // a stream's head, not yet sent: it leaves with the first chunk
  bool peer_closed_ = false;       // the client ended the connection (EOF, reset, close_notify)
  bool body_skipped_ = false;      // the head check refused the request: its body was not read
  bool unread_body_ = false;       // an answer went out with (part of) a request body unread
  std::size_t body_reserved_ = 0;  // bytes of worker_.held->body_bytes this request holds

  // Disconnect watch (see ClientWatch).
  std::function<void()> on_gone_;
  bool gone_ = false;
  bool watching_ = false;  // the watch's operation has not completed yet
  Alarm watch_alarm_;      // starts the watch once the call has run for kWatchDelay
  asio::cancellation_signal watch_stop_;
  char peek_byte_ = 0;  // the plain watch's peek lands here (nothing is consumed)
};

}  // namespace bc::net
