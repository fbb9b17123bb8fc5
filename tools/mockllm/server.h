// The mock upstream's HTTP server: one coroutine per connection on one io_context thread,
// keep-alive, no blocking call anywhere. Routes: the chat endpoints of formats.cpp,
// GET /_mock/stats and POST /_mock/reset.
#pragma once

#include <unordered_set>

#include <boost/asio/awaitable.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>

#include "mockllm/chat_exchange.h"
#include "mockllm/connection.h"

namespace bc::mockllm {

class Server {
 public:
  // Binds and listens at once; throws boost::system::system_error when it cannot (startup).
  // With `tls`, every connection speaks HTTPS with that context (which must outlive the
  // server).
  Server(asio::io_context& io, const tcp::endpoint& endpoint, asio::ssl::context* tls = nullptr);
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  unsigned short port() const { return acceptor_.local_endpoint().port(); }

  // Starts accepting on the io_context.
  void start();
  // Stops accepting and closes every connection; io_context::run() returns once their
  // coroutines have unwound. Call on the io_context's thread.
  void stop();

 private:
  awaitable<void> accept_loop();
  awaitable<void> session(tcp::socket socket);
  // Answers one request; whether the connection may carry another.
  awaitable<bool> handle(Connection& connection, const Request& request);

  asio::io_context& io_;
  asio::ssl::context* tls_;
  tcp::acceptor acceptor_;
  MockState state_;
  std::unordered_set<Connection*> connections_;
  bool stopping_ = false;
};

}  // namespace bc::mockllm
