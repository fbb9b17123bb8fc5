#include "mockllm/connection.h"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/http/chunk_encode.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/serializer.hpp>
#include <boost/beast/http/write.hpp>

namespace bc::mockllm {
namespace {

using namespace asio::experimental::awaitable_operators;
// Errors are expected here (client gone, timer cancelled) and become return values.
constexpr auto kTuple = asio::as_tuple(asio::use_awaitable);

constexpr std::size_t kReadAheadChunk = 4096;
constexpr std::size_t kMaxReadAhead = 1024 * 1024;

}  // namespace

Connection::Connection(tcp::socket socket)
    : socket_(std::move(socket)), timer_(socket_.get_executor()) {
  boost::system::error_code ignored;
  // Every event of a slow stream must leave at once, not wait for Nagle.
  socket_.set_option(tcp::no_delay(true), ignored);
}

Connection::Connection(tcp::socket socket, asio::ssl::context& tls)
    : socket_(socket.get_executor()),
      timer_(socket.get_executor()),
      tls_(std::make_unique<TlsStream>(std::move(socket), tls)) {
  boost::system::error_code ignored;
  tls_->next_layer().set_option(tcp::no_delay(true), ignored);
}

awaitable<bool> Connection::handshake(Duration timeout) {
  if (!tls_) co_return true;
  timer_.expires_after(timeout);
  auto result = co_await (tls_->async_handshake(asio::ssl::stream_base::server, kTuple) ||
                          timer_.async_wait(kTuple));
  if (result.index() == 1) co_return false;
  const auto [ec] = std::get<0>(result);
  co_return !ec;
}

awaitable<ReadOutcome> Connection::read_request(Duration idle) {
  ReadOutcome out;
  if (!is_open()) co_return out;
  http::request_parser<http::string_body> parser;
  parser.body_limit(kBodyLimit);
  timer_.expires_after(idle);
  // The timer loses the race unless the client stays silent for `idle`; Beast's read supports
  // terminal cancellation, which `||` sends to the loser.
  auto result =
      co_await (visit([&](auto& s) { return http::async_read(s, buffer_, parser, kTuple); }) ||
                timer_.async_wait(kTuple));
  if (result.index() == 1) co_return out;  // idle
  const auto [ec, bytes] = std::get<0>(result);
  if (!ec) {
    out.request = parser.release();
  } else if (ec == http::error::body_limit) {
    out.reject_status = 413;
  } else if (ec.category() == http::make_error_code(http::error::bad_version).category() &&
             ec != http::error::end_of_stream && ec != http::error::partial_message) {
    out.reject_status = 400;  // bytes that do not parse, not the client going away
  }
  co_return out;
}

awaitable<bool> Connection::pause(Duration duration) {
  if (!is_open()) co_return false;
  if (duration <= Duration::zero()) co_return true;
  timer_.expires_after(duration);
  for (;;) {
    if (buffer_.size() >= kMaxReadAhead) {
      co_await timer_.async_wait(kTuple);
      co_return is_open();
    }
    auto result = co_await (timer_.async_wait(kTuple) || visit([&](auto& s) {
                              return s.async_read_some(buffer_.prepare(kReadAheadChunk), kTuple);
                            }));
    // When the timer wins, `||` cancels the read. Should the read have completed in the same
    // instant, its bytes are dropped: only a client pipelining a request exactly then loses it.
    if (result.index() == 0) co_return is_open();
    const auto [ec, bytes] = std::get<1>(result);
    if (ec) {
      gone_ = true;
      co_return false;
    }
    buffer_.commit(bytes);
  }
}

awaitable<bool> Connection::write(http::response<http::string_body>& response) {
  if (!is_open()) co_return false;
  const auto [ec, bytes] =
      co_await visit([&](auto& s) { return http::async_write(s, response, kTuple); });
  gone_ = gone_ || ec;
  co_return !ec;
}

awaitable<bool> Connection::write_head(http::response<http::empty_body>& head) {
  if (!is_open()) co_return false;
  http::response_serializer<http::empty_body> serializer(head);
  const auto [ec, bytes] =
      co_await visit([&](auto& s) { return http::async_write_header(s, serializer, kTuple); });
  gone_ = gone_ || ec;
  co_return !ec;
}

awaitable<bool> Connection::write_chunk(std::string_view data) {
  if (!is_open()) co_return false;
  const auto [ec, bytes] = co_await visit(
      [&](auto& s) { return asio::async_write(s, http::make_chunk(asio::buffer(data)), kTuple); });
  gone_ = gone_ || ec;
  co_return !ec;
}

awaitable<bool> Connection::write_last_chunk() {
  if (!is_open()) co_return false;
  const auto [ec, bytes] = co_await visit(
      [&](auto& s) { return asio::async_write(s, http::make_chunk_last(), kTuple); });
  gone_ = gone_ || ec;
  co_return !ec;
}

awaitable<bool> Connection::write_raw(std::string_view data) {
  if (!is_open()) co_return false;
  const auto [ec, bytes] =
      co_await visit([&](auto& s) { return asio::async_write(s, asio::buffer(data), kTuple); });
  gone_ = gone_ || ec;
  co_return !ec;
}

void Connection::close() {
  boost::system::error_code ignored;
  socket().shutdown(tcp::socket::shutdown_both, ignored);
  socket().close(ignored);
  timer_.cancel();
}

}  // namespace bc::mockllm
