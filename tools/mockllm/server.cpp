#include "mockllm/server.h"

#include <chrono>
#include <cstdio>
#include <exception>
#include <optional>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "core/error.h"
#include "mockllm/baidu_legacy_format.h"
#include "mockllm/fault_plan.h"
#include "mockllm/formats.h"

namespace bc::mockllm {
namespace {

using namespace std::chrono_literals;

// Clients of a mock (gateway pools, load generators) keep connections for a long time.
constexpr Duration kIdleTimeout = 120s;
constexpr Duration kHandshakeTimeout = 10s;

void log_failure(const char* what, std::exception_ptr failure) {
  if (!failure) return;
  try {
    std::rethrow_exception(failure);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "mockllm: %s failed: %s\n", what, e.what());
  }
}

std::string_view path_of(std::string_view target) {
  return target.substr(0, target.find('?'));
}

// Errors of the mock itself (unknown path, wrong method) in OpenAI's shape.
http::response<http::string_body> mock_error(const Request& request, ErrorKind kind,
                                             std::string message) {
  Error error;
  error.kind = kind;
  error.message = std::move(message);
  return json_response(request, static_cast<http::status>(error.status()), error.to_json());
}

}  // namespace

Server::Server(asio::io_context& io, const tcp::endpoint& endpoint, asio::ssl::context* tls)
    : io_(io), tls_(tls), acceptor_(io), state_(Clock::now()) {
  acceptor_.open(endpoint.protocol());
  acceptor_.set_option(tcp::acceptor::reuse_address(true));
  acceptor_.bind(endpoint);
  acceptor_.listen(asio::socket_base::max_listen_connections);
}

void Server::start() {
  asio::co_spawn(io_, accept_loop(), [](std::exception_ptr e) { log_failure("accept loop", e); });
}

void Server::stop() {
  stopping_ = true;
  boost::system::error_code ignored;
  acceptor_.close(ignored);
  for (auto* connection : connections_) connection->close();
}

awaitable<void> Server::accept_loop() {
  constexpr auto kTuple = asio::as_tuple(asio::use_awaitable);
  asio::steady_timer backoff(io_);
  while (!stopping_) {
    auto [ec, socket] = co_await acceptor_.async_accept(kTuple);
    if (stopping_) break;
    if (ec) {
      // Out of descriptors or a connection reset before accept: wait instead of spinning.
      std::fprintf(stderr, "mockllm: accept: %s\n", ec.message().c_str());
      backoff.expires_after(10ms);
      co_await backoff.async_wait(kTuple);
      continue;
    }
    asio::co_spawn(io_, session(std::move(socket)),
                   [](std::exception_ptr e) { log_failure("session", e); });
  }
}

awaitable<void> Server::session(tcp::socket socket) {
  std::optional<Connection> holder;
  if (tls_ != nullptr) {
    holder.emplace(std::move(socket), *tls_);
  } else {
    holder.emplace(std::move(socket));
  }
  Connection& connection = *holder;
  connections_.insert(&connection);
  state_.stats.connection_opened();
  struct Unregister {
    Server& server;
    Connection& connection;
    ~Unregister() {
      server.connections_.erase(&connection);
      server.state_.stats.connection_closed();
    }
  } unregister{*this, connection};

  // A client that refuses the certificate (the point of some tests) ends here.
  if (!co_await connection.handshake(kHandshakeTimeout)) {
    connection.close();
    co_return;
  }
  while (!stopping_) {
    auto read = co_await connection.read_request(kIdleTimeout);
    if (!read.request) {
      if (read.reject_status != 0) {
        Request dummy;
        auto response = mock_error(
            dummy,
            read.reject_status == 413 ? ErrorKind::kPayloadTooLarge : ErrorKind::kInvalidRequest,
            read.reject_status == 413 ? "request body too large" : "malformed HTTP request");
        response.keep_alive(false);
        co_await connection.write(response);
      }
      break;
    }
    if (!co_await handle(connection, *read.request)) break;
  }
  connection.close();
}

awaitable<bool> Server::handle(Connection& connection, const Request& request) {
  const auto path = path_of(request.target());
  const auto method = request.method();

  if (path == "/_mock/stats" || path == "/_mock/reset") {
    const bool stats = path == "/_mock/stats";
    if (method != (stats ? http::verb::get : http::verb::post)) {
      auto response = mock_error(request, ErrorKind::kMethodNotAllowed, "method not allowed");
      co_return co_await connection.write(response) && request.keep_alive();
    }
    if (!stats) state_.stats.reset();
    auto response =
        json_response(request, http::status::ok, stats ? state_.stats.to_json() : R"({"ok":true})");
    co_return co_await connection.write(response) && request.keep_alive();
  }

  if (path == kBaiduTokenPath) {
    // Sample code uses GET as well as POST.
    if (method != http::verb::post && method != http::verb::get) {
      auto response = mock_error(request, ErrorKind::kMethodNotAllowed, "method not allowed");
      co_return co_await connection.write(response) && request.keep_alive();
    }
    const auto now = std::chrono::duration_cast<std::chrono::seconds>(
                         std::chrono::system_clock::now().time_since_epoch())
                         .count();
    auto reply = baidu_token_exchange(request.target(), request.body(), now);
    if (!reply.api_key.empty()) state_.stats.token_issued(parse_fault_plan(reply.api_key).key_name);
    auto response =
        json_response(request, static_cast<http::status>(reply.status), std::move(reply.body));
    co_return co_await connection.write(response) && request.keep_alive();
  }

  if (const auto* embed = find_embed_format(path)) {
    if (method != http::verb::post) {
      auto response = mock_error(request, ErrorKind::kMethodNotAllowed, "method not allowed");
      co_return co_await connection.write(response) && request.keep_alive();
    }
    co_return co_await serve_embeddings(connection, *embed, request, state_);
  }

  if (const auto* format = find_format(path)) {
    if (method != http::verb::post) {
      auto response = mock_error(request, ErrorKind::kMethodNotAllowed, "method not allowed");
      co_return co_await connection.write(response) && request.keep_alive();
    }
    co_return co_await serve_chat(connection, *format, request, state_);
  }

  auto response = mock_error(request, ErrorKind::kNotFound, "no route for " + std::string(path));
  co_return co_await connection.write(response) && request.keep_alive();
}

}  // namespace bc::mockllm
