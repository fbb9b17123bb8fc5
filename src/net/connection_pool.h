// One upstream connection (plain TCP or TLS over TCP) and the per-origin pool of idle
// keep-alive connections. Both belong to one worker thread: no locks.
#pragma once

#include <cstddef>
#include <deque>
#include <memory>
#include <string>
#include <unordered_map>

#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/ssl/ssl_stream.hpp>

#include "core/clock.h"
#include "net/deadline.h"

namespace bc::net {

class Connection {
 public:
  using TlsStream = boost::beast::ssl_stream<boost::asio::ip::tcp::socket>;

  Connection(std::string origin, boost::asio::ip::tcp::socket plain);
  Connection(std::string origin, std::unique_ptr<TlsStream> tls);
  ~Connection();
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  const std::string& origin() const { return origin_; }
  bool is_tls() const { return tls_ != nullptr; }
  TlsStream& tls() { return *tls_; }
  // The TCP layer under either kind: the socket is closed here.
  boost::asio::ip::tcp::socket& tcp();
  // The deadline of the operations on it (a plain socket, not Beast's tcp_stream: see Deadline).
  Deadline& deadline() { return deadline_; }

  // Calls `f` with the stream to read and write (the TLS stream when there is one) and returns
  // what it returns; both calls must return the same type.
  template <class F>
  decltype(auto) visit(F&& f) {
    if (tls_) return f(*tls_);
    return f(*plain_);
  }

  // A cheap non-blocking check on an idle connection: false when the peer has closed it, reset
  // it or sent bytes nobody asked for (over TLS too: any record there, data or alert, is
  // unasked for). A true answer can still be wrong (a close in flight), which is why a
  // request that fails on a reused connection is retried once.
  bool looks_alive();

  // TLS: whether bytes past what was read out are held inside the TLS layer (decrypted data
  // not yet read, or received records not yet decrypted), where a peek at the socket does not
  // see them. False for a plain connection.
  bool tls_holds_bytes();

  // Closes the socket; any pending operation completes with operation_aborted. No TLS
  // close_notify: the peer sees a plain TCP close at once.
  void close();

  TimePoint idle_since{};
  // Responses are read through this buffer. It stays with the connection, so a call on a
  // pooled connection allocates none.
  boost::beast::flat_buffer read_buffer;

 private:
  std::string origin_;
  std::unique_ptr<boost::asio::ip::tcp::socket> plain_;
  std::unique_ptr<TlsStream> tls_;
  Deadline deadline_;  // after the streams: made from their socket, gone before it
};

// Idle connections by origin ("https://host:port"), newest first out. Connections idle longer
// than `idle_ttl` are closed rather than handed out; at most `max_idle_per_origin` are kept.
class ConnectionPool {
 public:
  ConnectionPool(std::size_t max_idle_per_origin, Duration idle_ttl);

  // The most recently returned idle connection for `origin` that has not expired, or null.
  std::unique_ptr<Connection> take(const std::string& origin, TimePoint now);
  // Keeps `connection` (whose response was read to its end) for reuse; closes the oldest idle
  // connection of the origin when it is full.
  void put(std::unique_ptr<Connection> connection, TimePoint now);

  std::size_t idle_count() const;
  std::size_t idle_count(const std::string& origin) const;

 private:
  void sweep(TimePoint now);

  std::size_t max_idle_per_origin_;
  Duration idle_ttl_;
  TimePoint last_sweep_{};
  // Per origin, oldest at the front.
  std::unordered_map<std::string, std::deque<std::unique_ptr<Connection>>> idle_;
};

}  // namespace bc::net
