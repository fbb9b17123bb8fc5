#include "net/connection_pool.h"

#include <algorithm>
#include <cerrno>

#include <sys/socket.h>

#include <openssl/bio.h>
#include <openssl/ssl.h>

#include <boost/asio/ip/tcp.hpp>

namespace bc::net {

Connection::Connection(std::string origin, boost::asio::ip::tcp::socket plain)
    : origin_(std::move(origin)),
      plain_(std::make_unique<boost::asio::ip::tcp::socket>(std::move(plain))),
      deadline_(*plain_) {}

Connection::Connection(std::string origin, std::unique_ptr<TlsStream> tls)
    : origin_(std::move(origin)),
      tls_(std::move(tls)),
      deadline_(boost::beast::get_lowest_layer(*tls_)) {}

Connection::~Connection() {
  close();
}

boost::asio::ip::tcp::socket& Connection::tcp() {
  return tls_ ? boost::beast::get_lowest_layer(*tls_) : *plain_;
}

bool Connection::looks_alive() {
  auto& socket = tcp();
  if (!socket.is_open()) return false;
  // One recv with MSG_DONTWAIT: toggling the socket's blocking mode around a peek (asio's
  // non_blocking()) costs three more system calls per request, and asio then sets it again
  // for the next operation.
  char byte = 0;
  const auto got = ::recv(socket.native_handle(), &byte, 1, MSG_PEEK | MSG_DONTWAIT);
  // Nothing to read is the healthy case; 0 is the server's close, a byte is an answer to
  // nothing, and any other error a broken connection.
  return got < 0 && (errno == EAGAIN || errno == EWOULDBLOCK);
}

bool Connection::tls_holds_bytes() {
  if (!tls_) return false;
  SSL* ssl = tls_->native_handle();
  // SSL_pending: decrypted application data not yet read; SSL_has_pending: record bytes
  // OpenSSL read but has not processed. Asio feeds what it reads from the socket to OpenSSL
  // through a BIO pair, so records it received but OpenSSL has not taken yet wait in the
  // pair's read side.
  if (SSL_pending(ssl) > 0 || SSL_has_pending(ssl) == 1) return true;
  BIO* received = SSL_get_rbio(ssl);
  return received != nullptr && BIO_ctrl_pending(received) > 0;
}

void Connection::close() {
  auto& socket = tcp();
  boost::system::error_code ignored;
  if (socket.is_open()) socket.shutdown(boost::asio::ip::tcp::socket::shutdown_both, ignored);
  socket.close(ignored);
}

ConnectionPool::ConnectionPool(std::size_t max_idle_per_origin, Duration idle_ttl)
    : max_idle_per_origin_(max_idle_per_origin), idle_ttl_(idle_ttl) {}

std::unique_ptr<Connection> ConnectionPool::take(const std::string& origin, TimePoint now) {
  sweep(now);
  const auto it = idle_.find(origin);
  if (it == idle_.end()) return nullptr;
  auto& idle = it->second;
  std::unique_ptr<Connection> found;
  while (!idle.empty() && !found) {
    found = std::move(idle.back());
    idle.pop_back();
    if (now - found->idle_since > idle_ttl_) found.reset();
  }
  // Whatever is left is older than what we just dropped as expired, or newer than the one found.
  // An emptied list stays (sweep() drops it a second later if still empty): erasing it here
  // freed and rebuilt the map node, its key and the deque's blocks on most calls.
  return found;
}

void ConnectionPool::put(std::unique_ptr<Connection> connection, TimePoint now) {
  sweep(now);
  if (max_idle_per_origin_ == 0) return;
  connection->idle_since = now;
  auto& idle = idle_[connection->origin()];
  while (idle.size() >= max_idle_per_origin_) idle.pop_front();
  idle.push_back(std::move(connection));
}

std::size_t ConnectionPool::idle_count() const {
  std::size_t n = 0;
  for (const auto& [origin, idle] : idle_) n += idle.size();
  return n;
}

std::size_t ConnectionPool::idle_count(const std::string& origin) const {
  const auto it = idle_.find(origin);
  return it == idle_.end() ? 0 : it->second.size();
}

// Expired connections of origins nobody asks for any more would otherwise hold their sockets
// forever; a full pass at most once a second keeps that bounded and cheap.
void ConnectionPool::sweep(TimePoint now) {
  if (now - last_sweep_ < std::chrono::seconds(1)) return;
  last_sweep_ = now;
  for (auto it = idle_.begin(); it != idle_.end();) {
    auto& idle = it->second;
    // Oldest first: drop from the front while expired.
    while (!idle.empty() && now - idle.front()->idle_since > idle_ttl_) idle.pop_front();
    it = idle.empty() ? idle_.erase(it) : std::next(it);
  }
}

}  // namespace bc::net
