// The server (net/http_server.h): its workers, binding and accepting (with the cap on open
// connections), running and graceful shutdown. A connection's own work is in
// server_connection*.cpp.
#include "net/http_server.h"

#include <memory>
#include <stdexcept>

#include <sys/socket.h>

#include <spdlog/spdlog.h>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/ssl/context.hpp>

#include "core/error.h"
#include "net/server_connection.h"
#include "net/tls_context.h"

namespace bc::net {

namespace ssl = asio::ssl;

namespace {
using ReusePort = asio::detail::socket_option::boolean<SOL_SOCKET, SO_REUSEPORT>;
}  // namespace

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

Server::Server(ServerOptions options, HandlerFactory factory)
    : options_(std::move(options)), factory_(std::move(factory)) {
  if (!options_.tls_cert_file.empty() || !options_.tls_key_file.empty()) {
    auto tls = make_server_tls_context(options_.tls_cert_file, options_.tls_key_file);
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
      conn = std::make_unique<ServerConnection<TlsStream>>(w, std::move(socket), options, *tls);
    } else {
      conn = std::make_unique<ServerConnection<PlainStream>>(w, std::move(socket), options);
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
