// The server connection's watch for its client leaving while the gateway waits on an upstream
// (see ClientWatch in http_server.h): a one-byte peek over plain TCP, a read through TLS, both
// started only once a call has run for kWatchDelay.
#include <spdlog/spdlog.h>
#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/post.hpp>

#include "net/server_connection.h"

namespace bc::net {

template <class Stream>
void ServerConnection<Stream>::on_client_gone(std::function<void()> on_gone) {
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
void ServerConnection<Stream>::start_watch() {
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
void ServerConnection<Stream>::client_left() {
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
void ServerConnection<Stream>::watched(error_code ec, std::size_t bytes) {
  watching_ = false;
  if (ec == asio::error::operation_aborted) return;
  if (ec || bytes == 0) client_left();
}

// TLS: bytes on the socket may be a close_notify alert as well as a pipelined request, so the
// watch reads through TLS: an error is the client gone, data is kept in `buffer_` for the next
// request. (Only the handler's writes run meanwhile; a TLS stream takes one read and one write
// at a time.)
template <class Stream>
awaitable<void> ServerConnection<Stream>::watch() {
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
awaitable<void> ServerConnection<Stream>::stop_watch() {
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

// Both kinds of stream, for the members defined here.
template void ServerConnection<PlainStream>::on_client_gone(std::function<void()>);
template awaitable<void> ServerConnection<PlainStream>::stop_watch();
template void ServerConnection<PlainStream>::start_watch();
template void ServerConnection<TlsStream>::on_client_gone(std::function<void()>);
template awaitable<void> ServerConnection<TlsStream>::stop_watch();
template void ServerConnection<TlsStream>::start_watch();

}  // namespace bc::net
