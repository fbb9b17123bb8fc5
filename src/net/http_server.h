// The HTTP/1.1 server: one acceptor and one io_context per worker thread (SO_REUSEPORT), one
// coroutine per connection, keep-alive, header and body limits, a timeout on every read and
// write, and graceful shutdown. Handlers get the parsed request and a ResponseWriter; they
// send one complete response or stream a chunked one.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/beast/http/message.hpp>
#include <boost/beast/http/string_body.hpp>

#include "core/http.h"
#include "core/result.h"

namespace boost::asio::ssl {
class context;
}

namespace bc::net {

using boost::asio::awaitable;
using HttpRequest = boost::beast::http::request<boost::beast::http::string_body>;

struct ServerOptions {
  std::string host = "127.0.0.1";
  std::uint16_t port = 9000;
  int threads = 0;  // 0: one per core
  std::size_t max_body_bytes = 8 * 1024 * 1024;
  std::size_t max_header_bytes = 16 * 1024;
  // Open client connections over all workers; a connection beyond it is answered 503 and
  // closed. 0: no limit.
  std::size_t max_connections = 4096;
  // Request body bytes held at once over all connections (a declared Content-Length is
  // reserved before the body is read; a chunked body reserves max_body_bytes); a request
  // beyond it is answered 503 before its body is read. 0: no limit.
  std::size_t max_body_bytes_in_flight = 256 * 1024 * 1024;
  std::chrono::milliseconds read_timeout{30'000};   // a whole request, once it has begun
  std::chrono::milliseconds write_timeout{30'000};  // each write to the client
  std::chrono::milliseconds idle_timeout{60'000};   // keep-alive wait for the next request
  std::chrono::milliseconds shutdown_grace{30'000};
  // HTTPS: a PEM certificate chain (the server's certificate first) and its private key. Both
  // empty: plain HTTP.
  std::string tls_cert_file;
  std::string tls_key_file;
};

// Whether the pair loads as a server TLS context: an error naming the file that does not load
// and OpenSSL's reason (a key that does not match the certificate included).
Status check_server_tls(const std::string& cert_file, const std::string& key_file);

// Lets the gateway learn that the client went away while it waits on an upstream, so the
// upstream attempt is cancelled at once. Called on the connection's own thread.
class ClientWatch {
 public:
  virtual ~ClientWatch() = default;
  // Runs `on_gone` once if the client closes its connection before the response is complete.
  // A later call replaces the earlier callback; an empty function stops watching. The watch
  // itself starts 50 ms after the first call (most calls end sooner and never need it), so a
  // client that leaves is noticed within that much of its leaving or of the call's start.
  virtual void on_client_gone(std::function<void()> on_gone) = 0;
  virtual bool client_gone() const = 0;
};

// How a handler answers. Exactly one of send() or begin_stream() ... end_stream() per request.
class ResponseWriter : public ClientWatch {
 public:
  // A complete response. Errors writing (client gone) are absorbed: nothing else can be done.
  virtual awaitable<void> send(int status, std::string_view content_type, std::string body,
                               const Headers& extra = {}) = 0;
  // Starts a chunked response. The head goes out with the first write (or end_stream), so a
  // stream costs one send per chunk rather than one more for its head; nothing is sent here
  // (so no coroutine: this is a plain call).
  virtual Status begin_stream(int status, std::string_view content_type,
                              const Headers& extra = {}) = 0;
  // One chunk, written and flushed before it returns; "" writes only the head, when it has not
  // gone yet. An error when the client is gone.
  virtual awaitable<Status> write(std::string_view data) = 0;
  // Ends the stream; `last_data`, when given, goes out as its last chunk in the same write.
  virtual awaitable<Status> end_stream(std::string_view last_data = {}) = 0;
  virtual bool started() const = 0;  // a byte of the response has been sent
  // The request's body was not read because the head check refused it (see HeadCheck): the
  // handler must answer a refusal, and the connection closes after it.
  virtual bool body_skipped() const { return false; }
  // The id of the worker thread serving this connection.
  virtual int worker() const = 0;
  // The client's address and port ("127.0.0.1:53124"), for the log of an operator's action;
  // empty when unknown.
  virtual std::string remote_address() const { return {}; }
};

// A handler may take what it needs out of the request (the chat handler moves the body into
// the parsed request, so an open stream holds the caller's text once): the connection reads
// each request into a message of its own and uses only the method and target afterwards.
using Handler = std::function<awaitable<void>(HttpRequest&, ResponseWriter&)>;
// Looks at a request's head (method, target, fields) as soon as it is parsed: before 100
// Continue is sent and before one byte of the body is read or held. False refuses it: the
// body is not read, the handler is called at once with an empty body to answer the refusal
// (ResponseWriter::body_skipped() says so), and the connection closes after that answer.
// That is where the client key and admin token are checked, so an unauthenticated client
// cannot make the gateway hold its body. Called on the connection's worker thread.
using HeadCheck = std::function<bool(const HttpRequest& head)>;

// What one worker thread serves requests with. A Handler alone checks no head.
struct RequestHandlers {
  RequestHandlers(Handler h = {}, HeadCheck check = {})  // NOLINT: a Handler converts
      : handler(std::move(h)), check_head(std::move(check)) {}
  Handler handler;
  HeadCheck check_head;  // empty: every head passes
};

// Makes the handlers of one worker thread; called once per worker with its executor, so the
// handler may own per-thread state (the upstream connection pool) with no locking.
using HandlerFactory =
    std::function<RequestHandlers(boost::asio::any_io_executor executor, int worker)>;

class Server {
 public:
  // Throws std::runtime_error (the message of check_server_tls()) when TLS is configured and
  // its files do not load.
  Server(ServerOptions options, HandlerFactory factory);
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  // Binds every worker's acceptor; throws std::system_error when the address is taken.
  // Returns the bound port (useful with port 0).
  std::uint16_t listen();
  // Runs the workers until stop() and the graceful shutdown finish. Blocks.
  void run();
  // Begins graceful shutdown: stop accepting, let in-flight requests finish within the grace
  // period, then close what remains. Thread-safe, idempotent.
  void stop();
  // Connections open right now, over all workers.
  std::size_t connections() const;
  // Request body bytes reserved right now, over all workers (see max_body_bytes_in_flight).
  std::size_t body_bytes_held() const;

  // One worker thread's io_context, acceptor and connections (internal to the server).
  struct Worker;
  // What the workers count together against the limits of ServerOptions.
  struct Held {
    std::atomic<std::size_t> connections{0};
    std::atomic<std::size_t> body_bytes{0};
  };

 private:
  ServerOptions options_;
  HandlerFactory factory_;
  std::unique_ptr<boost::asio::ssl::context> tls_;  // null: plain HTTP
  std::vector<std::unique_ptr<Worker>> workers_;
  Held held_;
  std::atomic<bool> stopping_{false};
};

}  // namespace bc::net
