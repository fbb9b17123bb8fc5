#include "net/http_server.h"

#include <list>
#include <optional>

#include <spdlog/spdlog.h>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http.hpp>

#include "core/error.h"

namespace bc::net {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;
using boost::system::error_code;

namespace {
constexpr auto kTuple = asio::as_tuple(asio::use_awaitable);
using ReusePort = asio::detail::socket_option::boolean<SOL_SOCKET, SO_REUSEPORT>;
}  // namespace

class Connection;

struct Server::Worker {
  int index = 0;
  asio::io_context ioc{1};
  std::optional<tcp::acceptor> acceptor;
  Handler handler;
  std::list<Connection*> connections;
  std::atomic<std::size_t> connection_count{0};
  std::optional<asio::steady_timer> grace_timer;
  bool stopping = false;
  std::thread thread;

  void begin_shutdown(std::chrono::milliseconds grace);
  void connection_ended(std::list<Connection*>::iterator it);
};

// One client connection: reads requests one after another, hands each to the handler and is
// the handler's ResponseWriter. Lives in its own coroutine frame on one worker thread.
class Connection final : public ResponseWriter {
 public:
  Connection(Server::Worker& worker, tcp::socket socket, const ServerOptions& options)
      : worker_(worker),
        options_(options),
        stream_(std::move(socket)),
        watch_done_(stream_.get_executor()) {}

  awaitable<void> run();

  // Shutdown: a connection waiting for its next request is closed now; one serving a request
  // finishes it and then closes.
  void close_if_idle() {
    if (idle_) stream_.socket().close();
  }
  void force_close() { stream_.socket().close(); }

  // ResponseWriter
  awaitable<void> send(int status, std::string_view content_type, std::string body,
                       const Headers& extra) override;
  awaitable<Status> begin_stream(int status, std::string_view content_type,
                                 const Headers& extra) override;
  awaitable<Status> write(std::string_view data) override;
  awaitable<Status> end_stream() override;
  bool started() const override { return started_; }
  int worker() const override { return worker_.index; }
  void on_client_gone(std::function<void()> on_gone) override;
  bool client_gone() const override { return gone_; }

 private:
  awaitable<void> watch();
  awaitable<void> stop_watch();
  awaitable<void> send_error(int status, std::string message, std::string code);
  template <class Response>
  void apply_common(Response& res, std::string_view content_type, const Headers& extra);

  Server::Worker& worker_;
  const ServerOptions& options_;
  beast::tcp_stream stream_;
  beast::flat_buffer buffer_;
  bool idle_ = true;

  // State of the request being served.
  unsigned version_ = 11;
  bool keep_alive_ = true;
  bool started_ = false;
  bool finished_ = false;
  bool broken_ = false;  // a write failed: the client is gone
  bool chunked_ = false;

  // Disconnect watch (see ClientWatch).
  std::function<void()> on_gone_;
  bool gone_ = false;
  bool watching_ = false;
  asio::cancellation_signal watch_stop_;
  asio::steady_timer watch_done_;
};

template <class Response>
void Connection::apply_common(Response& res, std::string_view content_type, const Headers& extra) {
  res.set(http::field::server, "balancedcall");
  if (!content_type.empty()) res.set(http::field::content_type, content_type);
  for (const auto& h : extra) res.insert(h.name, h.value);
  // During shutdown, tell the client this connection ends with this response.
  res.keep_alive(keep_alive_ && !worker_.stopping);
}

awaitable<void> Connection::send(int status, std::string_view content_type, std::string body,
                                 const Headers& extra) {
  http::response<http::string_body> res{static_cast<http::status>(status), version_};
  apply_common(res, content_type, extra);
  res.body() = std::move(body);
  res.prepare_payload();
  keep_alive_ = res.keep_alive();
  started_ = true;
  finished_ = true;
  stream_.expires_after(options_.write_timeout);
  // A failed write means the client left; there is nobody to tell.
  auto [ec, n] = co_await http::async_write(stream_, res, kTuple);
  if (ec) broken_ = true;
}

awaitable<Status> Connection::begin_stream(int status, std::string_view content_type,
                                           const Headers& extra) {
  http::response<http::empty_body> res{static_cast<http::status>(status), version_};
  apply_common(res, content_type, extra);
  // HTTP/1.0 has no chunked encoding: stream raw bytes and end by closing.
  chunked_ = version_ >= 11;
  if (chunked_) {
    res.chunked(true);
  } else {
    res.keep_alive(false);
  }
  keep_alive_ = res.keep_alive();
  started_ = true;
  http::response_serializer<http::empty_body> sr{res};
  stream_.expires_after(options_.write_timeout);
  auto [ec, n] = co_await http::async_write_header(stream_, sr, kTuple);
  if (ec) {
    broken_ = true;
    co_return Error::upstream("client connection closed", "client_closed");
  }
  co_return Status{};
}

awaitable<Status> Connection::write(std::string_view data) {
  if (broken_) co_return Error::upstream("client connection closed", "client_closed");
  if (data.empty()) co_return Status{};
  stream_.expires_after(options_.write_timeout);
  error_code ec;
  if (chunked_) {
    std::tie(ec, std::ignore) =
        co_await asio::async_write(stream_, http::make_chunk(asio::buffer(data)), kTuple);
  } else {
    std::tie(ec, std::ignore) = co_await asio::async_write(stream_, asio::buffer(data), kTuple);
  }
  if (ec) {
    broken_ = true;
    co_return Error::upstream("client connection closed", "client_closed");
  }
  co_return Status{};
}

awaitable<Status> Connection::end_stream() {
  finished_ = true;
  if (broken_) co_return Error::upstream("client connection closed", "client_closed");
  if (!chunked_) co_return Status{};
  stream_.expires_after(options_.write_timeout);
  auto [ec, n] = co_await asio::async_write(stream_, http::make_chunk_last(), kTuple);
  if (ec) {
    broken_ = true;
    co_return Error::upstream("client connection closed", "client_closed");
  }
  co_return Status{};
}

void Connection::on_client_gone(std::function<void()> on_gone) {
  on_gone_ = std::move(on_gone);
  if (!on_gone_ || watching_) return;
  if (gone_) {
    auto fn = std::move(on_gone_);
    fn();
    return;
  }
  watching_ = true;
  asio::co_spawn(stream_.get_executor(), watch(), [](std::exception_ptr e) {
    if (e) spdlog::error("client watch ended with an exception");
  });
}

// Waits until the socket is readable. Readable with nothing to read means the client closed
// (or reset) its connection; readable with bytes means a pipelined request, which is not a
// disconnect, so the watch just ends.
awaitable<void> Connection::watch() {
  auto [ec] = co_await stream_.socket().async_wait(
      tcp::socket::wait_read, asio::bind_cancellation_slot(watch_stop_.slot(), kTuple));
  if (ec != asio::error::operation_aborted) {
    error_code avail_ec;
    const auto available = stream_.socket().available(avail_ec);
    if (ec || avail_ec || available == 0) {
      gone_ = true;
      if (on_gone_) {
        auto fn = std::move(on_gone_);
        fn();
      }
    }
  }
  watching_ = false;
  watch_done_.cancel();
}

awaitable<void> Connection::stop_watch() {
  on_gone_ = nullptr;
  while (watching_) {
    watch_stop_.emit(asio::cancellation_type::all);
    watch_done_.expires_at(asio::steady_timer::time_point::max());
    // Woken by watch() when it ends; the timer never expires on its own.
    co_await watch_done_.async_wait(kTuple);
  }
}

awaitable<void> Connection::send_error(int status, std::string message, std::string code) {
  Error e;
  e.kind = status == 413   ? ErrorKind::kPayloadTooLarge
           : status == 408 ? ErrorKind::kTimeout
                           : ErrorKind::kInvalidRequest;
  e.message = std::move(message);
  e.code = std::move(code);
  e.http_status = status;
  keep_alive_ = false;  // the rest of the request is unread: the connection cannot be reused
  co_await send(status, "application/json", e.to_json(), {});
}

awaitable<void> Connection::run() {
  for (;;) {
    idle_ = true;
    if (worker_.stopping) break;
    if (buffer_.size() == 0) {
      // Keep-alive wait for the next request. EOF, timeout or shutdown: nothing to answer.
      stream_.expires_after(options_.idle_timeout);
      auto [ec, n] = co_await stream_.async_read_some(buffer_.prepare(4096), kTuple);
      if (ec) break;
      buffer_.commit(n);
    }
    idle_ = false;

    http::request_parser<http::string_body> parser;
    parser.header_limit(static_cast<std::uint32_t>(options_.max_header_bytes));
    parser.body_limit(options_.max_body_bytes);
    // One deadline for the whole request: a client trickling bytes cannot hold the slot.
    stream_.expires_after(options_.read_timeout);
    auto [hec, hn] = co_await http::async_read_header(stream_, buffer_, parser, kTuple);
    if (hec) {
      version_ = 11;
      keep_alive_ = false;
      if (hec == http::error::header_limit) {
        co_await send_error(
            431, "request headers exceed " + std::to_string(options_.max_header_bytes) + " bytes",
            "headers_too_large");
      } else if (hec == http::error::body_limit) {
        // Beast checks a declared Content-Length against the body limit with the header.
        co_await send_error(413,
                            "request body exceeds the " + std::to_string(options_.max_body_bytes) +
                                "-byte limit",
                            "body_too_large");
      } else if (hec == beast::error::timeout) {
        co_await send_error(408, "request not received in time", "request_timeout");
      } else if (hec != http::error::end_of_stream && hec != asio::error::eof &&
                 hec != asio::error::operation_aborted && hec != asio::error::connection_reset) {
        co_await send_error(400, "malformed HTTP request: " + hec.message(), "bad_request");
      }
      break;
    }
    auto& head = parser.get();
    version_ = head.version();
    keep_alive_ = head.keep_alive();
    started_ = finished_ = broken_ = chunked_ = false;
    if (const auto length = parser.content_length(); length && *length > options_.max_body_bytes) {
      co_await send_error(413,
                          "request body of " + std::to_string(*length) + " bytes exceeds the " +
                              std::to_string(options_.max_body_bytes) + "-byte limit",
                          "body_too_large");
      break;
    }
    if (beast::iequals(head[http::field::expect], "100-continue")) {
      http::response<http::empty_body> cont{http::status::continue_, version_};
      stream_.expires_after(options_.write_timeout);
      auto [cec, cn] = co_await http::async_write(stream_, cont, kTuple);
      if (cec) break;
    }
    auto [bec, bn] = co_await http::async_read(stream_, buffer_, parser, kTuple);
    if (bec) {
      if (bec == http::error::body_limit) {
        co_await send_error(
            413,
            "request body exceeds the " + std::to_string(options_.max_body_bytes) + "-byte limit",
            "body_too_large");
      } else if (bec == beast::error::timeout) {
        co_await send_error(408, "request body not received in time", "request_timeout");
      }
      break;
    }
    stream_.expires_never();  // the handler sets deadlines per write
    const HttpRequest request = parser.release();

    bool threw = false;
    try {
      co_await worker_.handler(request, *this);
    } catch (const std::exception& e) {
      spdlog::error("handler for {} {} threw: {}", std::string(request.method_string()),
                    std::string(request.target()), e.what());
      threw = true;
    }
    co_await stop_watch();
    if (!finished_) {
      if (started_) break;  // a stream the handler left open: the client sees it cut
      if (!threw) spdlog::error("handler sent no response for {}", std::string(request.target()));
      co_await send_error(500, "internal error", "internal_error");
      break;
    }
    if (broken_ || !keep_alive_) break;
  }
  error_code ignored;
  stream_.socket().shutdown(tcp::socket::shutdown_send, ignored);
  stream_.socket().close(ignored);
}

void Server::Worker::connection_ended(std::list<Connection*>::iterator it) {
  connections.erase(it);
  connection_count.fetch_sub(1, std::memory_order_relaxed);
  if (stopping && connections.empty()) ioc.stop();
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
  int threads = options_.threads > 0 ? options_.threads
                                     : static_cast<int>(std::thread::hardware_concurrency());
  if (threads <= 0) threads = 1;
  for (int i = 0; i < threads; ++i) {
    auto w = std::make_unique<Worker>();
    w->index = i;
    w->handler = factory_(w->ioc.get_executor(), i);
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
awaitable<void> accept_loop(Server::Worker& w, const ServerOptions& options) {
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
    error_code ignored;
    socket.set_option(tcp::no_delay(true), ignored);
    auto conn = std::make_unique<Connection>(w, std::move(socket), options);
    w.connections.push_front(conn.get());
    w.connection_count.fetch_add(1, std::memory_order_relaxed);
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
    asio::co_spawn(w->ioc, accept_loop(*w, options_), [](std::exception_ptr e) {
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
  std::size_t n = 0;
  for (const auto& w : workers_) n += w->connection_count.load(std::memory_order_relaxed);
  return n;
}

}  // namespace bc::net
