// The server connection's writing (see server_connection.h): a complete response, a chunked
// stream whose head leaves with its first chunk, and the server's own error answers. Over
// plain TCP what the socket takes is sent at once; only the rest waits, under the write
// timeout.
#include <array>
#include <charconv>

#include <boost/asio/write.hpp>

#include "core/error.h"
#include "net/response_head.h"
#include "net/send_now.h"
#include "net/server_connection.h"

namespace bc::net {

template <class Stream>
awaitable<void> ServerConnection<Stream>::send(int status, std::string_view content_type,
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
std::span<asio::const_buffer> ServerConnection<Stream>::write_now(
    std::span<asio::const_buffer> pieces) {
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
awaitable<bool> ServerConnection<Stream>::write_rest(std::span<asio::const_buffer> pieces) {
  deadline_.arm(options_.write_timeout);
  auto [ec, n] = co_await asio::async_write(stream_, pieces, kTuple);
  co_return !deadline_.finish(ec);
}

template <class Stream>
Status ServerConnection<Stream>::begin_stream(int status, std::string_view content_type,
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
awaitable<Status> ServerConnection<Stream>::send_stream_bytes(std::string_view data, bool last) {
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
awaitable<Status> ServerConnection<Stream>::write(std::string_view data) {
  // Not a coroutine: the caller awaits send_stream_bytes() itself (one frame less per write).
  return send_stream_bytes(data, false);
}

template <class Stream>
awaitable<Status> ServerConnection<Stream>::end_stream(std::string_view last_data) {
  finished_ = true;
  return send_stream_bytes(last_data, true);
}

// Retry-After on the server's own 503s (built outside the coroutine: GCC 12 rejects a braced
// Headers list of string literals inside one).
namespace {
Headers retry_soon() {
  Headers h;
  h.push_back(Header{"Retry-After", "1"});
  return h;
}
}  // namespace

template <class Stream>
awaitable<void> ServerConnection<Stream>::send_error(int status, std::string message,
                                                     std::string code) {
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

// Both kinds of stream, for the members defined here.
template awaitable<void> ServerConnection<PlainStream>::send(int, std::string_view, std::string,
                                                             const Headers&);
template Status ServerConnection<PlainStream>::begin_stream(int, std::string_view, const Headers&);
template awaitable<Status> ServerConnection<PlainStream>::write(std::string_view);
template awaitable<Status> ServerConnection<PlainStream>::end_stream(std::string_view);
template awaitable<void> ServerConnection<PlainStream>::send_error(int, std::string, std::string);
template awaitable<void> ServerConnection<TlsStream>::send(int, std::string_view, std::string,
                                                           const Headers&);
template Status ServerConnection<TlsStream>::begin_stream(int, std::string_view, const Headers&);
template awaitable<Status> ServerConnection<TlsStream>::write(std::string_view);
template awaitable<Status> ServerConnection<TlsStream>::end_stream(std::string_view);
template awaitable<void> ServerConnection<TlsStream>::send_error(int, std::string, std::string);

}  // namespace bc::net
