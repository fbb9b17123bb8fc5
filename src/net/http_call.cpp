// One upstream call's exchange and body (see http_call.h): start() takes a pooled connection
// (probed first) or connects, sends the request, reads the head past interim answers and
// retries once on a fresh connection when a reused one gave nothing back; read_some() and
// read_all() read the body under the idle timeout and the request's deadline.
#include <algorithm>
#include <array>
#include <span>

#include <boost/asio/ssl/error.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/error.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/ssl/ssl_stream.hpp>

#include "net/http_call.h"
#include "net/send_now.h"

namespace bc::net::client_detail {

namespace http = beast::http;
namespace ssl = asio::ssl;

void HttpCall::cancel() {
  if (cancelled_) return;
  cancelled_ = true;
  if (resolve_) resolve_->wake.cancel();
  // Closing the socket (not destroying the stream: an operation may be pending on it) makes a
  // pending read, write, connect or handshake complete now with operation_aborted, and the
  // upstream sees the connection close. The coroutine that owns the call drops it.
  if (conn_) conn_->close();
}

error_code HttpCall::settle(error_code ec, bool keep) {
  if (!conn_) return ec;
  return keep ? conn_->deadline().check(ec) : conn_->deadline().finish(ec);
}

void HttpCall::drop() {
  if (!conn_) return;
  conn_->close();
  conn_.reset();
}

Error HttpCall::fail(Error error) {
  phase_ = Phase::kFailed;
  drop();
  failure_ = error;
  return error;
}

awaitable<Status> HttpCall::start(const UpstreamRequest& request, const Timeouts& timeouts) {
  if (phase_ != Phase::kIdle) co_return Error::internal("UpstreamCall::start() called twice");
  auto target = tls_.target(request.url);
  if (!target) co_return fail(std::move(target).error());
  target_ = std::move(target).value();
  timeouts_ = timeouts;
  if (url().tls && tls_.error) co_return fail(*tls_.error);
  if (cancelled_) co_return fail(cancelled_error(url()));
  OutgoingRequest req;
  const RequestTarget where{target_->url.target, target_->host_header, state_->options.user_agent};
  if (auto built = write_request(request, where, req); !built) {
    co_return fail(std::move(built).error());
  }
  phase_ = Phase::kStarting;

  // A pooled connection may have been closed by the server while idle; if the request then
  // gets no byte back at all, it is sent once more on a fresh connection.
  bool may_reuse = true;
  for (;;) {
    bool reused = false;
    if (may_reuse) {
      while (auto pooled = state_->pool.take(pool_key(), Clock::now())) {
        // Every reuse is probed, however short the idle time: bytes that reached an idle
        // connection (an extra response an upstream or a middlebox sent after the last
        // body, say) would be read as the answer to this request, and every later answer on
        // the connection would be one behind: one client would get another's. A connection
        // that received anything while idle, or was closed, is closed here, never used.
        if (pooled->looks_alive()) {
          conn_ = std::move(pooled);
          reused = true;
          break;
        }
      }
    }
    if (!reused) {
      if (auto connected = co_await connect(); !connected)
        co_return fail(std::move(connected).error());
    }
    auto failure = co_await exchange(req, reused);
    if (!failure) break;
    if (reused && failure->stale && !cancelled_) {
      drop();
      may_reuse = false;
      continue;
    }
    co_return fail(std::move(failure->error));
  }

  status_ = parser_->status();
  fields_ = std::move(parser_->fields());
  phase_ = Phase::kBody;
  if (parser_->is_done()) finish_body();  // no body: 204, 304, HEAD, Content-Length: 0
  co_return Status{};
}

awaitable<std::optional<HttpCall::ExchangeError>> HttpCall::exchange(const OutgoingRequest& req,
                                                                     bool reused) {
  // Named in error messages only: made when one is.
  const auto authority = [this] { return url().authority(); };
  auto first_byte_timeout = [&] {
    return ExchangeError{
        retryable(Error::timeout("first_byte timeout (" + in_ms(timeouts_.first_byte) +
                                     ") waiting for the response from " + authority(),
                                 "first_byte_timeout"))};
  };

  // Messages below name the origin and the socket error only: never the request's headers,
  // which carry the key.
  conn_->deadline().arm(timeouts_.first_byte);
  std::array<asio::const_buffer, 2> pieces{asio::buffer(req.head), asio::buffer(req.body)};
  std::span<asio::const_buffer> unsent(pieces);
  error_code raw_write_ec;
  if (!conn_->is_tls()) {
    // What the socket takes now is sent now (net/send_now.h): usually the whole request.
    unsent = drop_sent(unsent, send_now(conn_->tcp(), unsent, raw_write_ec));
  }
  if (!raw_write_ec && !unsent.empty()) {
    auto [ec, written] =
        co_await conn_->visit([&](auto& s) { return asio::async_write(s, unsent, kTuple); });
    raw_write_ec = ec;
  }
  const auto write_ec = settle(raw_write_ec);
  if (cancelled_) co_return ExchangeError{cancelled_error(url())};
  if (write_ec == beast::error::timeout) co_return first_byte_timeout();
  if (write_ec) {
    co_return ExchangeError{retryable(Error::upstream("cannot send the request to " + authority() +
                                                          ": " + write_ec.message(),
                                                      "upstream_io")),
                            reused};
  }

  buffer().clear();
  // Beast reads max(512, free capacity) bytes per recv. A model may think for seconds before
  // its first byte: a stream waits for it on the smallest buffer (a thousand waiting streams
  // would otherwise hold 4 MB), and grows it once a read fills it; an ordinary answer is read
  // whole, head and body, by one 4 KiB recv.
  if (req.stream) buffer().shrink_to_fit();  // a pooled connection's may have grown
  buffer().reserve(req.stream ? kSmallRead : kReadBytes);
  conn_->deadline().arm(timeouts_.first_byte);
  error_code read_ec;
  for (int interim = 0;; ++interim) {
    parser_.emplace();
    parser_->header_limit(static_cast<std::uint32_t>(state_->options.max_header_bytes));
    if (req.is_head) parser_->skip(true);
    read_ec = settle(co_await read_head(), /*keep=*/true);
    // An interim answer (100 Continue, 103 Early Hints) is not the response: the real one
    // follows on the same connection, and taking the interim one for it would leave the real
    // answer to be read by the next call on this connection. (101 is never asked for.)
    const int status = parser_->status();
    if (read_ec || cancelled_ || status < 100 || status >= 200 || status == 101 ||
        interim >= kMaxInterimAnswers) {
      break;
    }
  }
  if (conn_) conn_->deadline().disarm();
  if (cancelled_) co_return ExchangeError{cancelled_error(url())};
  // A stream waits for its first event on the smallest buffer too (its next reads grow it if
  // they fill it); an ordinary answer's rest is read 4 KiB at a time.
  last_read_ = req.stream ? 0 : kReadBytes;
  if (!read_ec) {
    // A stream's head was read on a small buffer: what came right behind it (a burst of
    // events) is taken now, so that it leaves in one piece.
    if (req.stream && !parser_->is_done()) drain_ready();
    co_return std::nullopt;
  }
  if (read_ec == beast::error::timeout) co_return first_byte_timeout();
  if (read_ec == http::error::header_limit) {
    co_return ExchangeError{Error::upstream("response head from " + authority() + " exceeds " +
                                                std::to_string(state_->options.max_header_bytes) +
                                                " bytes",
                                            "bad_response")};
  }
  if (read_ec.category() == http::make_error_code(http::error::bad_target).category() &&
      read_ec != http::error::end_of_stream && read_ec != http::error::partial_message) {
    co_return ExchangeError{Error::upstream(
        "malformed response from " + authority() + ": " + read_ec.message(), "bad_response")};
  }
  const bool nothing_back = !parser_->got_some() && buffer().size() == 0;
  co_return ExchangeError{
      retryable(Error::upstream(
          "connection to " + authority() + " failed before the response head: " + read_ec.message(),
          "upstream_io")),
      reused && nothing_back};
}

std::size_t HttpCall::receive_room() {
  return std::max(kSmallRead, buffer().capacity() - buffer().size());
}

awaitable<std::tuple<error_code, std::size_t>> HttpCall::receive() {
  auto [ec, n] = co_await conn_->visit(
      [&](auto& s) { return s.async_read_some(buffer().prepare(receive_room()), kTuple); });
  // The call may have been cancelled meanwhile, and the connection dropped with it.
  if (conn_) buffer().commit(n);
  co_return std::tuple{ec, n};
}

awaitable<error_code> HttpCall::read_head() {
  for (;;) {
    if (buffer().size() > 0) {
      error_code ec;
      buffer().consume(parser_->put(buffer().data(), ec));
      if (ec != http::error::need_more) co_return ec;  // the head is whole (or malformed)
    }
    auto [ec, n] = co_await receive();
    if (ec == asio::error::eof) {
      co_return parser_->got_some() ? http::error::partial_message : http::error::end_of_stream;
    }
    if (ec) co_return ec;
  }
}

bool HttpCall::parse_buffered(Error& error) {
  if (!conn_) return true;
  while (buffer().size() > 0 && !parser_->is_done()) {
    error_code ec;
    const std::size_t used = parser_->put(buffer().data(), ec);
    buffer().consume(used);
    if (ec == http::error::need_more) return true;
    if (ec) {
      error = fail(retryable(
          Error::upstream("malformed response body from " + url().authority() + ": " + ec.message(),
                          "upstream_io")));
      return false;
    }
    if (used == 0) return true;
  }
  return true;
}

void HttpCall::drain_ready() {
  // After a recv that filled the buffer, or a stream's head: an upstream that sent a burst (a
  // whole short answer, a run of events) may have more bytes waiting. Taking them now, without
  // waiting, makes the burst one piece (one write to the client) instead of one per recv. The
  // kernel says how many are there, so nothing is allocated for a stream that has none yet.
  // Plain connections only: over TLS, bytes may wait inside OpenSSL, unseen by the socket.
  if (conn_->is_tls()) return;
  auto& socket = conn_->tcp();
  while (!parser_->is_done()) {
    error_code ec;
    const std::size_t waiting = socket.available(ec);
    if (ec || waiting == 0) return;
    buffer().reserve(buffer().size() + waiting);
    const std::size_t n = socket.read_some(buffer().prepare(waiting), ec);  // does not block
    if (ec) return;  // the next read reports it
    buffer().commit(n);
    last_read_ = n;
    Error ignored;  // a malformed body fails the call here; the next read_some reports it
    if (!parse_buffered(ignored)) return;
  }
}

awaitable<Result<std::string>> HttpCall::read_some() {
  if (cancelled_) co_return fail(cancelled_error(url()));
  // A body that ended while it was read ahead (drain_ready) is still handed out, then "".
  if (phase_ == Phase::kDone) co_return parser_ ? parser_->take_body() : std::string{};
  if (failure_) co_return *failure_;
  if (phase_ != Phase::kBody) {
    co_return Error::internal("UpstreamCall::read_some() without a successful start()");
  }
  // Body bytes that arrived with the head, or with the previous piece, come first.
  Error error;
  if (!parse_buffered(error)) co_return error;
  while (!parser_->has_body() && !parser_->is_done()) {
    if (buffer().size() == 0) {
      // A paced stream sends one small event at a time: after a read that did not fill even
      // Beast's smallest (512 bytes) the buffer is given back and the next read takes 512
      // bytes, so a quiet open stream does not hold 4 KiB; after a fuller one the next read
      // gets the full size again, so a large body is not read 512 bytes at a time.
      if (last_read_ < kSmallRead) {
        buffer().shrink_to_fit();
      } else {
        buffer().reserve(kReadBytes);
      }
    }
    const bool cut_by_deadline = timeouts_.deadline - Clock::now() <= timeouts_.idle;
    conn_->deadline().arm_at(cut_by_deadline ? timeouts_.deadline : Clock::now() + timeouts_.idle);
    // A recv that fills what it may take suggests the upstream sent more at once.
    const std::size_t room = receive_room();
    auto [raw_ec, n] = co_await receive();
    auto ec = settle(raw_ec);
    if (cancelled_) co_return fail(cancelled_error(url()));
    // The connection's close ends a body delimited by it, and cuts any other short. Over TLS
    // such a body may end without close_notify: that truncation is its normal end too.
    if (ec == asio::error::eof || (ec == ssl::error::stream_truncated && parser_->need_eof())) {
      parser_->put_eof(ec);
    }
    if (conn_) last_read_ = n;
    if (ec == beast::error::timeout && cut_by_deadline) {
      // The request's time is up, not the upstream's pause: not a fault of the key.
      auto late = Error::timeout(
          "the request's deadline passed while reading the body from " + url().authority(),
          "deadline_exceeded");
      late.retryable = false;
      co_return fail(std::move(late));
    }
    if (ec == beast::error::timeout) {
      co_return fail(retryable(Error::timeout(
          "idle timeout (" + in_ms(timeouts_.idle) + ") reading the body from " + url().authority(),
          "idle_timeout")));
    }
    if (ec) {
      co_return fail(retryable(
          Error::upstream("connection to " + url().authority() + " broke mid-body: " + ec.message(),
                          "upstream_io")));
    }
    // All that recv brought is parsed now, so one recv gives one piece however many chunks
    // it held.
    if (!parse_buffered(error)) co_return error;
    if (conn_ && last_read_ == room) drain_ready();
  }
  if (body_budget_ && parser_->body_bytes() > *body_budget_) {
    // Checked before finish_body(): an answer refused for its size is not a clean exchange.
    co_return fail(too_large(body_max_));
  }
  if (parser_->is_done()) finish_body();
  std::string piece = parser_->take_body();  // empty only when the body is complete
  if (body_budget_) *body_budget_ -= piece.size();
  co_return piece;
}

Error HttpCall::too_large(std::size_t max_bytes) const {
  return Error::upstream("response body from " + url().authority() + " exceeds " +
                             std::to_string(max_bytes) + " bytes",
                         "response_too_large");
}

awaitable<Result<std::string>> HttpCall::read_all(std::size_t max_bytes) {
  if (phase_ == Phase::kBody && !cancelled_) {
    if (const auto length = parser_->content_length()) {
      if (*length > max_bytes) {
        co_return fail(Error::upstream("response body from " + url().authority() + " (" +
                                           std::to_string(*length) + " bytes) exceeds " +
                                           std::to_string(max_bytes) + " bytes",
                                       "response_too_large"));
      }
    }
  }
  body_max_ = max_bytes;
  body_budget_ = max_bytes;
  std::string all;
  for (;;) {
    auto piece = co_await read_some();
    if (!piece) co_return std::move(piece).error();
    if (piece->empty()) co_return all;
    if (all.empty()) {
      all = std::move(*piece);  // most answers arrive in one piece: no copy
    } else {
      all += *piece;
    }
  }
}

void HttpCall::finish_body() {
  phase_ = Phase::kDone;
  // A connection is reused only when its answer ended exactly at the end of what was
  // received: a byte beyond it, in the read buffer or inside TLS, would be a reply to nothing
  // and be read as the answer to the next request on it. (Bytes still in the kernel are found
  // by the probe before any reuse.) Nor is one reused that the server (or HTTP/1.0, or a
  // close-delimited body) wants closed.
  if (conn_ && parser_->keep_alive() && buffer().size() == 0 && !conn_->tls_holds_bytes() &&
      !cancelled_ && status_ >= 200) {
    state_->pool.put(std::move(conn_), Clock::now());
  } else {
    drop();
  }
}

}  // namespace bc::net::client_detail
