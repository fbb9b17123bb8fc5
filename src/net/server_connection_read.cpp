// The server connection's life (see server_connection.h): the TLS handshake, reading each
// request under its limits and one deadline, the head check and the body's reservation before
// the body is read, 100 Continue, handing the request to the handler, and the close, with a
// lingering read when a body was left unread.
#include <algorithm>

#include <spdlog/spdlog.h>
#include <boost/asio/ssl.hpp>
#include <boost/beast/http/empty_body.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/write.hpp>

#include "net/server_connection.h"

namespace bc::net {

namespace ssl = asio::ssl;

template <class Stream>
void ServerConnection<Stream>::refuse(int status, std::string message, std::string code) {
  refusal_ = Refusal{status, std::move(message), std::move(code)};
  // Whatever of the request is still coming is not read: the answer ends the connection.
  unread_body_ = true;
}

template <class Stream>
bool ServerConnection<Stream>::admit_body(const http::request_parser<http::string_body>& parser) {
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
void ServerConnection<Stream>::release_body() {
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
awaitable<void> ServerConnection<Stream>::linger() {
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
awaitable<bool> ServerConnection<Stream>::send_continue() {
  http::response<http::empty_body> cont{http::status::continue_, version_};
  deadline_.arm(options_.write_timeout);
  auto [ec, n] = co_await http::async_write(stream_, cont, kTuple);
  co_return !deadline_.finish(ec);
}

template <class Stream>
bool ServerConnection<Stream>::parse_buffered(http::request_parser<http::string_body>& parser,
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
awaitable<std::optional<HttpRequest>> ServerConnection<Stream>::read_request() {
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
awaitable<void> ServerConnection<Stream>::run() {
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
awaitable<void> ServerConnection<Stream>::close() {
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

// Both kinds of stream, for the members defined here.
template awaitable<void> ServerConnection<PlainStream>::run();
template void ServerConnection<PlainStream>::release_body();
template awaitable<void> ServerConnection<TlsStream>::run();
template void ServerConnection<TlsStream>::release_body();

}  // namespace bc::net
