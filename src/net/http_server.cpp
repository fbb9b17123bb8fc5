#include "net/http_server.h"

#include <algorithm>
#include <array>
#include <charconv>
#include <list>
#include <optional>
#include <span>
#include <stdexcept>
#include <type_traits>

#include <sys/socket.h>

#include <spdlog/spdlog.h>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl/ssl_stream.hpp>

#include "core/error.h"
#include "net/deadline.h"
#include "net/send_now.h"

namespace bc::net {

using namespace std::string_view_literals;

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace ssl = asio::ssl;
using tcp = asio::ip::tcp;
using boost::system::error_code;

namespace {
constexpr auto kTuple = asio::as_tuple(asio::use_awaitable);
using ReusePort = asio::detail::socket_option::boolean<SOL_SOCKET, SO_REUSEPORT>;
using PlainStream = tcp::socket;
using TlsStream = beast::ssl_stream<tcp::socket>;
// Longest wait for the client's close_notify when a TLS connection ends.
constexpr std::chrono::milliseconds kTlsShutdownTimeout{2000};
constexpr std::chrono::milliseconds kTlsShutdownWhenStopping{100};
// How long a call runs before its client is watched for leaving. Most proxied calls end
// sooner and then cost no watch at all: no peek (a system call) to start, no cancel and
// aborted handler to end it. A model's answer takes seconds, so the watch still stops a call
// whose client left long before it would end.
constexpr std::chrono::milliseconds kWatchDelay{50};
// Longest time a connection reads and drops what its client still sends after an answer that
// left the request's body unread (see Connection::linger()).
constexpr std::chrono::milliseconds kLingerTime{2000};
}  // namespace

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

// How a response's body is framed.
enum class Framing { kLength, kChunked, kNone };

// Appends a response head as sent: the status line, our Server field and the content type,
// the handler's fields, then Connection and the framing fields. Written straight into the
// text: a Beast message allocated every field, re-read Connection to set keep-alive and was
// then walked to print it (some 2,000 instructions a response), and Beast's serializer walks
// a chain of buffer views on every write.
void append_head(std::string& out, unsigned version, int status, std::string_view content_type,
                 const Headers& extra, bool keep_alive, Framing framing, std::size_t length = 0) {
  out.reserve(out.size() + 256);
  out += version >= 11 ? "HTTP/1.1 "sv : "HTTP/1.0 "sv;
  char number[24];
  auto r = std::to_chars(number, number + sizeof number, status);
  out.append(number, r.ptr);
  out += ' ';
  const auto reason = http::obsolete_reason(static_cast<http::status>(status));
  out.append(reason.data(), reason.size());
  out += "\r\nServer: balancedcall\r\n"sv;
  auto field = [&out](std::string_view name, std::string_view value) {
    out.append(name.data(), name.size());
    out += ": "sv;
    out.append(value.data(), value.size());
    out += "\r\n"sv;
  };
  if (!content_type.empty()) field("Content-Type", content_type);
  for (const auto& h : extra) field(h.name, h.value);
  // HTTP/1.1 keeps a connection unless told; HTTP/1.0 closes it unless told.
  if (version >= 11 && !keep_alive) field("Connection", "close");
  if (version < 11 && keep_alive) field("Connection", "keep-alive");
  if (framing == Framing::kLength) {
    r = std::to_chars(number, number + sizeof number, length);
    field("Content-Length", std::string_view(number, static_cast<std::size_t>(r.ptr - number)));
  } else if (framing == Framing::kChunked) {
    field("Transfer-Encoding", "chunked");
  }
  out += "\r\n"sv;
}

// One client connection: reads requests one after another, hands each to the handler and is
// the handler's ResponseWriter. Lives in its own coroutine frame on one worker thread.
// `Stream` is PlainStream or TlsStream: the TLS handshake, close_notify and the disconnect
// watch differ; everything else is the same code on either stream.
template <class Stream>
class Connection final : public ConnectionBase {
 public:
  static constexpr bool kTls = std::is_same_v<Stream, TlsStream>;

  // `tls...`: the server's ssl::context for a TlsStream, nothing for a PlainStream.
  template <class... TlsContext>
  Connection(Server::Worker& worker, tcp::socket socket, const ServerOptions& options,
             TlsContext&... tls)
      : worker_(worker),
        options_(options),
        stream_(std::move(socket), tls...),
        deadline_(lowest()),
        watch_alarm_(stream_.get_executor(), [this] { start_watch(); }) {}
  ~Connection() override { release_body(); }

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

template <class Stream>
awaitable<void> Connection<Stream>::send(int status, std::string_view content_type,
                                         std::string body, const Headers& extra) {
  // 1xx, 204 and 304 answers have no body and no length.
  const bool has_length = status >= 200 && status != 204 && status != 304;
  if (!has_length) body.clear();
  // During shutdown, tell the client this connection ends with this response.
  keep_alive_ = keep_alive_ && !worker_.stopping;
  started_ = true;
  finished_ = true;
  std::string head;
  append_head(head, version_, status, content_type, extra, keep_alive_,
              has_length ? Framing::kLength : Framing::kNone, body.size());
  // A failed write means the client left; there is nobody to tell.
  std::array<asio::const_buffer, 2> pieces{asio::buffer(head), asio::buffer(body)};
  const auto rest = write_now(pieces);
  if (!broken_ && !rest.empty() && !co_await write_rest(rest)) broken_ = true;
}

template <class Stream>
std::span<asio::const_buffer> Connection<Stream>::write_now(std::span<asio::const_buffer> pieces) {
  // Over plain TCP what the socket takes now is sent now (net/send_now.h).
  if constexpr (!kTls) {
    error_code ec;
    const std::size_t sent = send_now(stream_, pieces, ec);
    if (ec) {
      broken_ = true;
      return {};
    }
    return drop_sent(pieces, sent);
  }
  return pieces;
}

template <class Stream>
awaitable<bool> Connection<Stream>::write_rest(std::span<asio::const_buffer> pieces) {
  deadline_.arm(options_.write_timeout);
  auto [ec, n] = co_await asio::async_write(stream_, pieces, kTuple);
  co_return !deadline_.finish(ec);
}

template <class Stream>
Status Connection<Stream>::begin_stream(int status, std::string_view content_type,
                                        const Headers& extra) {
  // HTTP/1.0 has no chunked encoding: stream raw bytes and end by closing. During shutdown,
  // tell the client this connection ends with this response.
  chunked_ = version_ >= 11;
  keep_alive_ = chunked_ && keep_alive_ && !worker_.stopping;
  started_ = true;
  // A stream may run for minutes and the read buffer is not needed meanwhile: give it back
  // unless it holds the start of a pipelined request. (Not for every request: a 4 KiB
  // malloc and free per request would cost more than it saves.) Plain connections only: over
  // TLS the disconnect watch may be reading into this buffer right now.
  if constexpr (!kTls) {
    if (buffer_.size() == 0) buffer_.shrink_to_fit();
  }
  // The head is kept as text and written with the first chunk: one send instead of two.
  head_.clear();
  append_head(head_, version_, status, content_type, extra, keep_alive_,
              chunked_ ? Framing::kChunked : Framing::kNone);
  return Status{};
}

template <class Stream>
awaitable<Status> Connection<Stream>::send_stream_bytes(std::string_view data, bool last) {
  if (broken_) co_return Error::upstream("client connection closed", "client_closed");
  // write(""): the head alone when it has not gone yet (a stream that starts before its
  // first content), else nothing.
  if (data.empty() && !last && head_.empty()) co_return Status{};
  static constexpr std::string_view kCrlf = "\r\n";
  static constexpr std::string_view kLastChunk = "0\r\n\r\n";
  char size_line[24];
  std::array<asio::const_buffer, 5> pieces;
  std::size_t count = 0;
  if (!head_.empty()) pieces[count++] = asio::buffer(head_);
  if (!data.empty()) {
    if (chunked_) {
      const auto r = std::to_chars(size_line, size_line + 16, data.size(), 16);
      char* end = r.ptr;
      *end++ = '\r';
      *end++ = '\n';
      pieces[count++] = asio::buffer(size_line, static_cast<std::size_t>(end - size_line));
    }
    pieces[count++] = asio::buffer(data);
    if (chunked_) pieces[count++] = asio::buffer(kCrlf);
  }
  if (last && chunked_) pieces[count++] = asio::buffer(kLastChunk);
  if (count == 0) co_return Status{};
  const auto rest = write_now(std::span<asio::const_buffer>(pieces.data(), count));
  const bool written = !broken_ && (rest.empty() || co_await write_rest(rest));
  head_.clear();
  if (!written) {
    broken_ = true;
    co_return Error::upstream("client connection closed", "client_closed");
  }
  co_return Status{};
}

template <class Stream>
awaitable<Status> Connection<Stream>::write(std::string_view data) {
  // Not a coroutine: the caller awaits send_stream_bytes() itself (one frame less per write).
  return send_stream_bytes(data, false);
}

template <class Stream>
awaitable<Status> Connection<Stream>::end_stream(std::string_view last_data) {
  finished_ = true;
  return send_stream_bytes(last_data, true);
}

template <class Stream>
void Connection<Stream>::on_client_gone(std::function<void()> on_gone) {
  on_gone_ = std::move(on_gone);
  if (!on_gone_) {
    watch_alarm_.disarm();
    return;
  }
  if (gone_) {
    client_left();
    return;
  }
  if (!watching_ && !watch_alarm_.armed()) watch_alarm_.arm(kWatchDelay);
}

template <class Stream>
void Connection<Stream>::start_watch() {
  if (!on_gone_ || watching_ || gone_) return;
  watching_ = true;
  if constexpr (kTls) {
    asio::co_spawn(stream_.get_executor(), watch(), [](std::exception_ptr e) {
      if (e) spdlog::error("client watch ended with an exception");
    });
  } else {
    // A one-byte peek, not a wait for readability: asio starts a read without a system call
    // when the last read drained the socket (as reading the request did), where a wait
    // re-arms epoll (epoll_ctl) every time. No coroutine either: this is on every call.
    lowest().async_receive(
        asio::buffer(&peek_byte_, 1), tcp::socket::message_peek,
        asio::bind_cancellation_slot(watch_stop_.slot(),
                                     [this](error_code ec, std::size_t n) { watched(ec, n); }));
  }
}

template <class Stream>
void Connection<Stream>::client_left() {
  gone_ = true;
  if (on_gone_) {
    auto fn = std::move(on_gone_);
    fn();
  }
}

// Plain: the peek ends when the socket is readable. Nothing to read (EOF) or an error (reset)
// means the client closed its connection; a byte means a pipelined request, which is not a
// disconnect and stays unread for the next request, so the watch just ends. Aborted: stopped
// by stop_watch() or by the socket's closing at shutdown.
template <class Stream>
void Connection<Stream>::watched(error_code ec, std::size_t bytes) {
  watching_ = false;
  if (ec == asio::error::operation_aborted) return;
  if (ec || bytes == 0) client_left();
}

// TLS: bytes on the socket may be a close_notify alert as well as a pipelined request, so the
// watch reads through TLS: an error is the client gone, data is kept in `buffer_` for the next
// request. (Only the handler's writes run meanwhile; a TLS stream takes one read and one write
// at a time.)
template <class Stream>
awaitable<void> Connection<Stream>::watch() {
  if constexpr (kTls) {
    // No deadline on this read: the client may rightly say nothing while its answer is made.
    for (;;) {
      auto [ec, n] = co_await stream_.async_read_some(buffer_.prepare(4096), kTuple);
      if (ec == asio::error::operation_aborted && !gone_ && lowest().is_open()) break;
      if (ec) {
        client_left();
        break;
      }
      buffer_.commit(n);
      if (n > 0) break;
    }
  }
  watching_ = false;
}

template <class Stream>
awaitable<void> Connection<Stream>::stop_watch() {
  on_gone_ = nullptr;
  watch_alarm_.disarm();
  if (!watching_) co_return;
  if constexpr (kTls) {
    // The handler is done, so the watch's read is the only operation on the socket.
    error_code ignored;
    lowest().cancel(ignored);
  } else {
    watch_stop_.emit(asio::cancellation_type::all);
  }
  // The watch completes on a later turn of this thread's loop (aborted, or with what it saw
  // first): wait for that, so it neither outlives the connection nor overlaps the next read.
  while (watching_) co_await asio::post(stream_.get_executor(), asio::use_awaitable);
}

// Retry-After on the server's own 503s (built outside the coroutine: GCC 12 rejects a braced
// Headers list of string literals inside one).
static Headers retry_soon() {
  Headers h;
  h.push_back(Header{"Retry-After", "1"});
  return h;
}

template <class Stream>
awaitable<void> Connection<Stream>::send_error(int status, std::string message, std::string code) {
  Error e;
  e.kind = status == 413   ? ErrorKind::kPayloadTooLarge
           : status == 408 ? ErrorKind::kTimeout
           : status == 503 ? ErrorKind::kUnavailable
                           : ErrorKind::kInvalidRequest;
  e.message = std::move(message);
  e.code = std::move(code);
  e.http_status = status;
  keep_alive_ = false;  // the rest of the request is unread: the connection cannot be reused
  // A named local, not a temporary in the co_await: GCC 12 destroys such a temporary twice.
  const Headers extra = status == 503 ? retry_soon() : Headers{};
  co_await send(status, "application/json", e.to_json(), extra);
}

template <class Stream>
void Connection<Stream>::refuse(int status, std::string message, std::string code) {
  refusal_ = Refusal{status, std::move(message), std::move(code)};
  // Whatever of the request is still coming is not read: the answer ends the connection.
  unread_body_ = true;
}

template <class Stream>
bool Connection<Stream>::admit_body(const http::request_parser<http::string_body>& parser) {
  // A request with no body (or an empty one) is whole already: nothing to hold.
  const bool has_body = !parser.is_done();
  body_skipped_ = false;
  if (worker_.check_head && !worker_.check_head(parser.get())) {
    body_skipped_ = true;
    if (has_body) {
      keep_alive_ = false;
      unread_body_ = true;
    }
    return false;
  }
  if (!has_body) return true;
  // A declared length is what the body will hold; a chunked one may grow to the limit.
  const std::size_t bytes = parser.content_length().value_or(options_.max_body_bytes);
  if (!worker_.reserve_body(bytes, options_.max_body_bytes_in_flight)) {
    refuse(503,
           "the gateway holds as many request bodies as it may right now "
           "(server.max_body_bytes_in_flight); retry shortly",
           "server_busy");
    return false;
  }
  body_reserved_ = bytes;
  return true;
}

template <class Stream>
void Connection<Stream>::release_body() {
  if (body_reserved_ == 0) return;
  worker_.release_body(body_reserved_);
  body_reserved_ = 0;
}

// An answer sent while the client may still be sending its body: closing a socket with
// unread bytes makes the kernel reset the connection, and a reset can destroy the answer
// before the client reads it (RFC 9112 section 9.6). So the connection stops sending and
// reads and drops what comes until the client closes, for a bounded time, as nginx's
// lingering close does. Nothing is kept: the buffer is reused for every read.
template <class Stream>
awaitable<void> Connection<Stream>::linger() {
  error_code ec;
  if constexpr (!kTls) lowest().shutdown(tcp::socket::shutdown_send, ec);
  deadline_.arm(std::min<std::chrono::milliseconds>(options_.read_timeout, kLingerTime));
  while (!ec) {
    buffer_.clear();
    auto [read_ec, n] = co_await stream_.async_read_some(buffer_.prepare(4096), kTuple);
    ec = read_ec;
  }
  deadline_.disarm();
  peer_closed_ = true;  // over TLS too: no close_notify to wait for after this
}

template <class Stream>
awaitable<bool> Connection<Stream>::send_continue() {
  http::response<http::empty_body> cont{http::status::continue_, version_};
  deadline_.arm(options_.write_timeout);
  auto [ec, n] = co_await http::async_write(stream_, cont, kTuple);
  co_return !deadline_.finish(ec);
}

template <class Stream>
bool Connection<Stream>::parse_buffered(http::request_parser<http::string_body>& parser,
                                        error_code& ec) {
  // Most requests arrive whole in the first read. Parsed here, they need no Beast read
  // operation, each of which (header, then body) was a composed operation whose completion,
  // immediate as it is, went through the scheduler's queue: ~3,000 instructions a request.
  const auto reached = [&] { return parser.eager() ? parser.is_done() : parser.is_header_done(); };
  while (!reached()) {
    if (buffer_.size() == 0) return false;
    const std::size_t used = parser.put(buffer_.data(), ec);
    buffer_.consume(used);
    if (ec == http::error::need_more) {
      ec = {};
      return false;
    }
    if (ec) return true;
    if (used == 0) return false;  // nothing taken: the Beast operation decides
  }
  return true;
}

template <class Stream>
awaitable<std::optional<HttpRequest>> Connection<Stream>::read_request() {
  refusal_.reset();
  idle_ = true;
  if (worker_.stopping) co_return std::nullopt;
  if (buffer_.size() == 0) {
    // Keep-alive wait for the next request. EOF, timeout or shutdown: nothing to answer.
    deadline_.arm(options_.idle_timeout);
    auto [read_ec, n] = co_await stream_.async_read_some(buffer_.prepare(4096), kTuple);
    if (const auto ec = deadline_.finish(read_ec)) {
      peer_closed_ = ec != beast::error::timeout;
      co_return std::nullopt;
    }
    buffer_.commit(n);
  }
  idle_ = false;

  // A member, not a local: in the coroutine's frame it made the frame larger than Asio
  // recycles (1 KiB), one aligned allocation per request.
  auto& parser = parser_.emplace();
  parser.header_limit(static_cast<std::uint32_t>(options_.max_header_bytes));
  parser.body_limit(options_.max_body_bytes);
  // One deadline for the whole request: a client trickling bytes cannot hold the slot.
  const auto read_deadline = Deadline::Clock::now() + options_.read_timeout;
  deadline_.arm_at(read_deadline);
  error_code header_ec;
  if (!parse_buffered(parser, header_ec)) {
    auto [read_ec, hn] = co_await http::async_read_header(stream_, buffer_, parser, kTuple);
    header_ec = read_ec;
  }
  const auto hec = deadline_.check(header_ec);
  if (hec) {
    deadline_.disarm();
    version_ = 11;
    keep_alive_ = false;
    if (hec == http::error::header_limit) {
      refuse(431, "request headers exceed " + std::to_string(options_.max_header_bytes) + " bytes",
             "headers_too_large");
    } else if (hec == http::error::body_limit) {
      // Beast checks a declared Content-Length against the body limit with the header.
      refuse(413,
             "request body exceeds the " + std::to_string(options_.max_body_bytes) + "-byte limit",
             "body_too_large");
    } else if (hec == beast::error::timeout) {
      refuse(408, "request not received in time", "request_timeout");
    } else if (hec != http::error::end_of_stream && hec != asio::error::eof &&
               hec != asio::error::operation_aborted && hec != asio::error::connection_reset) {
      refuse(400, "malformed HTTP request: " + hec.message(), "bad_request");
    }
    co_return std::nullopt;
  }
  auto& head = parser.get();
  version_ = head.version();
  keep_alive_ = head.keep_alive();
  started_ = finished_ = broken_ = chunked_ = body_skipped_ = false;
  if (const auto length = parser.content_length(); length && *length > options_.max_body_bytes) {
    deadline_.disarm();
    refuse(413,
           "request body of " + std::to_string(*length) + " bytes exceeds the " +
               std::to_string(options_.max_body_bytes) + "-byte limit",
           "body_too_large");
    co_return std::nullopt;
  }
  if (!admit_body(parser)) {
    deadline_.disarm();
    if (refusal_) co_return std::nullopt;
    co_return parser.release();  // the handler answers the head check's refusal
  }
  if (beast::iequals(head[http::field::expect], "100-continue")) {
    if (!co_await send_continue()) co_return std::nullopt;
    deadline_.arm_at(read_deadline);
  }
  parser.eager(true);  // as http::async_read() has it: the whole body, not a piece
  error_code body_ec;
  if (!parse_buffered(parser, body_ec)) {
    auto [read_ec, bn] = co_await http::async_read(stream_, buffer_, parser, kTuple);
    body_ec = read_ec;
  }
  if (const auto bec = deadline_.finish(body_ec)) {
    if (bec == http::error::body_limit) {
      refuse(413,
             "request body exceeds the " + std::to_string(options_.max_body_bytes) + "-byte limit",
             "body_too_large");
    } else if (bec == beast::error::timeout) {
      refuse(408, "request body not received in time", "request_timeout");
    }
    co_return std::nullopt;
  }
  co_return parser.release();
}

template <class Stream>
awaitable<void> Connection<Stream>::run() {
  if constexpr (kTls) {
    // The handshake counts as waiting for a request: shutdown closes it at once.
    deadline_.arm(options_.read_timeout);
    auto [handshake_ec] = co_await stream_.async_handshake(ssl::stream_base::server, kTuple);
    if (const auto ec = deadline_.finish(handshake_ec)) {
      // A plain-HTTP client, a client that does not trust the certificate, a port scan.
      spdlog::debug("TLS handshake failed: {}", ec.message());
      peer_closed_ = true;
      co_await close();
      co_return;
    }
  }
  for (;;) {
    std::optional<HttpRequest> request = co_await read_request();
    if (!request) {
      release_body();
      if (refusal_) co_await send_error(refusal_->status, refusal_->message, refusal_->code);
      break;
    }

    bool threw = false;
    try {
      co_await worker_.handler(*request, *this);
    } catch (const std::exception& e) {
      spdlog::error("handler for {} {} threw: {}", std::string(request->method_string()),
                    std::string(request->target()), e.what());
      threw = true;
    }
    request.reset();
    release_body();
    on_gone_ = nullptr;
    watch_alarm_.disarm();
    if (watching_) co_await stop_watch();
    if (!finished_) {
      if (started_) break;  // a stream the handler left open: the client sees it cut
      // The client left before its answer (the access log records a 499): nobody to tell,
      // and nothing went wrong here.
      if (gone_) break;
      if (!threw) spdlog::error("handler sent no response for {}", std::string(request->target()));
      co_await send_error(500, "internal error", "internal_error");
      break;
    }
    if (broken_ || !keep_alive_) break;
  }
  co_await close();
}

template <class Stream>
awaitable<void> Connection<Stream>::close() {
  auto& socket = lowest();
  if (unread_body_ && !peer_closed_ && !broken_ && !worker_.stopping && socket.is_open()) {
    co_await linger();
  }
  if constexpr (kTls) {
    // close_notify tells the client the response really ended (an HTTP/1.0 stream ends by
    // closing). Skipped when the client is gone or the socket was closed by shutdown.
    if (!peer_closed_ && !broken_ && !gone_ && socket.is_open()) {
      // During shutdown an idle client would hold the server for the whole wait for its
      // close_notify (a connection that finished a request just as stop() came is closed
      // here rather than by close_if_idle): send ours and wait only briefly.
      deadline_.arm(worker_.stopping ? kTlsShutdownWhenStopping
                                     : std::min<std::chrono::milliseconds>(options_.write_timeout,
                                                                           kTlsShutdownTimeout));
      co_await stream_.async_shutdown(kTuple);
      deadline_.disarm();
    }
  }
  error_code ignored;
  socket.shutdown(tcp::socket::shutdown_send, ignored);
  socket.close(ignored);
}

void Server::Worker::connection_ended(std::list<ConnectionBase*>::iterator it) {
  connections.erase(it);
  held->connections.fetch_sub(1, std::memory_order_relaxed);
  if (stopping && connections.empty()) ioc.stop();
}

bool Server::Worker::reserve_body(std::size_t bytes, std::size_t limit) {
  const std::size_t before = held->body_bytes.fetch_add(bytes, std::memory_order_relaxed);
  if (limit == 0 || before + bytes <= limit) return true;
  held->body_bytes.fetch_sub(bytes, std::memory_order_relaxed);
  return false;
}

void Server::Worker::release_body(std::size_t bytes) {
  held->body_bytes.fetch_sub(bytes, std::memory_order_relaxed);
}

void Server::Worker::begin_shutdown(std::chrono::milliseconds grace) {
  if (stopping) return;
  stopping = true;
  error_code ignored;
  if (acceptor) acceptor->close(ignored);
  for (auto* c : connections) c->close_if_idle();
  if (connections.empty()) {
    ioc.stop();
    return;
  }
  grace_timer.emplace(ioc);
  grace_timer->expires_after(grace);
  grace_timer->async_wait([this](error_code ec) {
    if (ec) return;
    if (!connections.empty()) {
      spdlog::warn("shutdown grace period over: closing {} connection(s)", connections.size());
    }
    for (auto* c : connections) c->force_close();
    ioc.stop();
  });
}

namespace {

// The listener's TLS context: TLS 1.2 and later, the certificate chain and its key. Errors
// name the file and OpenSSL's reason.
Result<std::unique_ptr<ssl::context>> make_server_tls(const std::string& cert_file,
                                                      const std::string& key_file) {
  auto context = std::make_unique<ssl::context>(ssl::context::tls_server);
  context->set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 |
                       ssl::context::no_sslv3 | ssl::context::no_tlsv1 | ssl::context::no_tlsv1_1 |
                       ssl::context::single_dh_use);
  error_code ec;
  context->use_certificate_chain_file(cert_file, ec);
  if (ec) {
    return Error::internal("cannot load the TLS certificate chain '" + cert_file +
                           "': " + ec.message());
  }
  context->use_private_key_file(key_file, ssl::context::pem, ec);
  // OpenSSL checks the key against the certificate as it loads it.
  if (ec && ec.message().find("mismatch") == std::string::npos) {
    return Error::internal("cannot load the TLS private key '" + key_file + "': " + ec.message());
  }
  if (ec || SSL_CTX_check_private_key(context->native_handle()) != 1) {
    return Error::internal("the TLS private key '" + key_file +
                           "' does not match the certificate '" + cert_file + "'");
  }
  return context;
}

}  // namespace

Status check_server_tls(const std::string& cert_file, const std::string& key_file) {
  auto context = make_server_tls(cert_file, key_file);
  if (!context) return std::move(context).error();
  return {};
}

Server::Server(ServerOptions options, HandlerFactory factory)
    : options_(std::move(options)), factory_(std::move(factory)) {
  if (!options_.tls_cert_file.empty() || !options_.tls_key_file.empty()) {
    auto tls = make_server_tls(options_.tls_cert_file, options_.tls_key_file);
    if (!tls) throw std::runtime_error(tls.error().message);
    tls_ = std::move(tls).value();
  }
  int threads = options_.threads > 0 ? options_.threads
                                     : static_cast<int>(std::thread::hardware_concurrency());
  if (threads <= 0) threads = 1;
  for (int i = 0; i < threads; ++i) {
    auto w = std::make_unique<Worker>();
    w->index = i;
    w->held = &held_;
    auto handlers = factory_(w->ioc.get_executor(), i);
    w->handler = std::move(handlers.handler);
    w->check_head = std::move(handlers.check_head);
    workers_.push_back(std::move(w));
  }
}

Server::~Server() {
  stop();
  for (auto& w : workers_) {
    if (w->thread.joinable()) w->thread.join();
  }
}

std::uint16_t Server::listen() {
  const auto address = asio::ip::make_address(options_.host);
  std::uint16_t port = options_.port;
  for (auto& w : workers_) {
    tcp::endpoint endpoint{address, port};
    w->acceptor.emplace(w->ioc);
    w->acceptor->open(endpoint.protocol());
    w->acceptor->set_option(asio::socket_base::reuse_address(true));
    // Every worker accepts on the same port; the kernel spreads connections between them.
    w->acceptor->set_option(ReusePort(true));
    w->acceptor->bind(endpoint);
    w->acceptor->listen(asio::socket_base::max_listen_connections);
    port = w->acceptor->local_endpoint().port();
  }
  return port;
}

namespace {

// A connection over server.max_connections: a 503 and a close, with no coroutine and no
// buffer, so a flood of connections costs the gateway next to nothing. What the client
// already sent is read out first (without waiting) so that the close is a FIN that follows
// the answer, not a reset that could destroy it. Over TLS there is no answer without a
// handshake, which is what the cap saves: the connection is closed at once.
void refuse_connection(tcp::socket& socket, bool tls) {
  static const std::string kAnswer = [] {
    auto e = Error::unavailable(
        "the gateway has as many open connections as it may (server.max_connections); "
        "retry shortly",
        "server_busy");
    const std::string body = e.to_json();
    return "HTTP/1.1 503 Service Unavailable\r\nServer: balancedcall\r\n"
           "Content-Type: application/json\r\nRetry-After: 1\r\nConnection: close\r\n"
           "Content-Length: " +
           std::to_string(body.size()) + "\r\n\r\n" + body;
  }();
  const int fd = socket.native_handle();
  if (!tls) {
    char sink[4096];
    for (int i = 0; i < 16 && ::recv(fd, sink, sizeof sink, MSG_DONTWAIT) > 0; ++i) {
    }
    [[maybe_unused]] const auto sent =
        ::send(fd, kAnswer.data(), kAnswer.size(), MSG_DONTWAIT | MSG_NOSIGNAL);
  }
  error_code ignored;
  socket.shutdown(tcp::socket::shutdown_both, ignored);
  socket.close(ignored);
}

awaitable<void> accept_loop(Server::Worker& w, const ServerOptions& options, ssl::context* tls) {
  for (;;) {
    auto [ec, socket] = co_await w.acceptor->async_accept(kTuple);
    if (ec) {
      if (w.stopping || ec == asio::error::operation_aborted) co_return;
      // Out of descriptors or a transient error: back off briefly instead of spinning.
      spdlog::warn("accept failed: {}", ec.message());
      asio::steady_timer t(w.ioc, std::chrono::milliseconds(50));
      co_await t.async_wait(kTuple);
      continue;
    }
    const std::size_t open = w.held->connections.fetch_add(1, std::memory_order_relaxed);
    if (options.max_connections != 0 && open >= options.max_connections) {
      w.held->connections.fetch_sub(1, std::memory_order_relaxed);
      refuse_connection(socket, tls != nullptr);
      continue;
    }
    error_code ignored;
    socket.set_option(tcp::no_delay(true), ignored);
    std::unique_ptr<ConnectionBase> conn;
    if (tls != nullptr) {
      conn = std::make_unique<Connection<TlsStream>>(w, std::move(socket), options, *tls);
    } else {
      conn = std::make_unique<Connection<PlainStream>>(w, std::move(socket), options);
    }
    w.connections.push_front(conn.get());
    auto it = w.connections.begin();
    asio::co_spawn(
        w.ioc, [conn = std::move(conn)]() -> awaitable<void> { co_await conn->run(); },
        [&w, it](std::exception_ptr e) {
          if (e) spdlog::error("connection ended with an unexpected exception");
          w.connection_ended(it);
        });
  }
}
}  // namespace

void Server::run() {
  for (auto& w : workers_) {
    if (!w->acceptor) throw std::logic_error("Server::run() before listen()");
    asio::co_spawn(w->ioc, accept_loop(*w, options_, tls_.get()), [](std::exception_ptr e) {
      if (e) spdlog::error("accept loop ended with an exception");
    });
  }
  for (std::size_t i = 1; i < workers_.size(); ++i) {
    auto* w = workers_[i].get();
    w->thread = std::thread([w] { w->ioc.run(); });
  }
  workers_[0]->ioc.run();
  for (std::size_t i = 1; i < workers_.size(); ++i) {
    if (workers_[i]->thread.joinable()) workers_[i]->thread.join();
  }
}

void Server::stop() {
  if (stopping_.exchange(true)) return;
  for (auto& w : workers_) {
    auto* worker = w.get();
    const auto grace = options_.shutdown_grace;
    asio::post(worker->ioc, [worker, grace] { worker->begin_shutdown(grace); });
  }
}

std::size_t Server::connections() const {
  return held_.connections.load(std::memory_order_relaxed);
}

std::size_t Server::body_bytes_held() const {
  return held_.body_bytes.load(std::memory_order_relaxed);
}

}  // namespace bc::net
