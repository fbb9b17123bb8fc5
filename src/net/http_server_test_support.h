// What the server tests share: TLS files in a temp folder, a handler with a route per kind of
// answer, plain and TLS servers on 127.0.0.1 run on their own thread, a blocking TLS client.
#pragma once

#include <gtest/gtest.h>

#include <openssl/ssl.h>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <future>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include <unistd.h>

#include "net/http_server.h"
#include "net/tls_test_support.h"

namespace bc::net::testing_server {

namespace asio = boost::asio;
namespace ssl = asio::ssl;
namespace http = boost::beast::http;
using tcp = asio::ip::tcp;
using namespace std::chrono_literals;
using asio::awaitable;

// The certificate, its key and a second key (that matches nothing) in a temp folder.
class TlsFiles {
 public:
  TlsFiles()
      : dir_(std::filesystem::temp_directory_path() /
             ("bc_net_server_test_" + std::to_string(::getpid()) + "_" +
              ::testing::UnitTest::GetInstance()->current_test_info()->name())) {
    std::filesystem::create_directories(dir_);
    const auto cert = testing::make_self_signed_cert();
    std::ofstream(cert_file()) << cert.cert_pem;
    std::ofstream(key_file()) << cert.key_pem;
    std::ofstream(other_key_file()) << testing::make_self_signed_cert().key_pem;
    cert_pem_ = cert.cert_pem;
  }
  ~TlsFiles() { std::filesystem::remove_all(dir_); }
  std::string cert_file() const { return (dir_ / "cert.pem").string(); }
  std::string key_file() const { return (dir_ / "key.pem").string(); }
  std::string other_key_file() const { return (dir_ / "other-key.pem").string(); }
  const std::string& cert_pem() const { return cert_pem_; }

 private:
  std::filesystem::path dir_;
  std::string cert_pem_;
};

// Routes: /plain answers "hello"; /stream streams "a", "b", "c" in chunks; /stream-end writes
// "ab" and ends with "tail"; /stream-empty ends at once; /watched-stream watches for the client
// leaving, streams for 300 ms and ends with "done"; /watched watches for
// the client leaving, then answers "watched" after 200 ms unless the client left; /extra
// answers 201 with two extra fields, /no-content 204 (its body dropped), /stream-extra streams
// "x" with an extra field.
// Extra fields of /extra and /stream-extra. (Made outside the coroutine: GCC 12 rejects a
// braced list of them inside a coroutine lambda.)
inline Headers extra_fields() {
  return {{"X-Request-Id", "r-1"}, {"Retry-After", "3"}};
}
inline Headers stream_fields() {
  return {{"Cache-Control", "no-cache"}};
}

inline Handler test_handler(asio::any_io_executor executor, std::promise<void>* gone) {
  return [executor, gone](const HttpRequest& req, ResponseWriter& w) -> awaitable<void> {
    if (req.target() == "/stream") {
      if (!w.begin_stream(200, "text/event-stream")) co_return;
      for (const char* piece : {"a", "b", "c"}) {
        if (!co_await w.write(piece)) co_return;
      }
      co_await w.end_stream();
      co_return;
    }
    if (req.target() == "/stream-end") {  // the last chunk given to end_stream
      if (!w.begin_stream(200, "text/plain")) co_return;
      if (!co_await w.write("ab")) co_return;
      co_await w.end_stream("tail");
      co_return;
    }
    if (req.target() == "/watched-stream") {  // a stream that watches for the client leaving
      w.on_client_gone([] {});
      if (!w.begin_stream(200, "text/plain")) co_return;
      asio::steady_timer timer(executor, 300ms);
      co_await timer.async_wait(asio::as_tuple(asio::use_awaitable));
      w.on_client_gone({});
      co_await w.end_stream("done");
      co_return;
    }
    if (req.target() == "/extra") {
      co_return co_await w.send(201, "application/json", "{}", extra_fields());
    }
    if (req.target() == "/no-content") co_return co_await w.send(204, "text/plain", "dropped");
    if (req.target() == "/stream-extra") {
      if (!w.begin_stream(200, "text/event-stream", stream_fields())) {
        co_return;
      }
      co_await w.end_stream("x");
      co_return;
    }
    if (req.target() == "/stream-empty") {
      if (!w.begin_stream(200, "text/plain")) co_return;
      co_await w.end_stream();
      co_return;
    }
    if (req.target() == "/watched") {
      asio::steady_timer timer(executor, 200ms);
      w.on_client_gone([&timer, gone] {
        timer.cancel();
        if (gone != nullptr) gone->set_value();
      });
      co_await timer.async_wait(asio::as_tuple(asio::use_awaitable));
      w.on_client_gone({});
      if (w.client_gone()) co_return co_await w.send(499, "text/plain", "gone");
      co_return co_await w.send(200, "text/plain", "watched");
    }
    if (req.target() == "/echo") co_return co_await w.send(200, "text/plain", req.body());
    if (req.target() == "/big") {  // more than a socket takes at once
      co_return co_await w.send(200, "text/plain", std::string(8 << 20, 'z'));
    }
    if (req.target() == "/big-stream") {
      if (!w.begin_stream(200, "text/plain")) co_return;
      if (!co_await w.write(std::string(8 << 20, 's'))) co_return;
      co_await w.end_stream("end");
      co_return;
    }
    co_await w.send(200, "text/plain", "hello");
  };
}

// A TLS server on 127.0.0.1 with one worker, run on its own thread.
class TlsServer {
 public:
  explicit TlsServer(const TlsFiles& files, std::promise<void>* gone = nullptr) {
    ServerOptions options;
    options.host = "127.0.0.1";
    options.port = 0;
    options.threads = 1;
    options.shutdown_grace = 2000ms;
    options.tls_cert_file = files.cert_file();
    options.tls_key_file = files.key_file();
    server_ = std::make_unique<Server>(options, [gone](asio::any_io_executor executor, int) {
      return test_handler(executor, gone);
    });
    port_ = server_->listen();
    thread_ = std::thread([this] { server_->run(); });
  }
  ~TlsServer() { stop(); }
  void stop() {
    server_->stop();
    if (thread_.joinable()) thread_.join();
  }
  std::uint16_t port() const { return port_; }

 private:
  std::unique_ptr<Server> server_;
  std::uint16_t port_ = 0;
  std::thread thread_;
};

// A plain HTTP server on 127.0.0.1 with one worker, run on its own thread.
class PlainServer {
 public:
  // `max_header_bytes`/`max_body_bytes`: 0 keeps the defaults.
  explicit PlainServer(std::size_t max_header_bytes = 0, std::size_t max_body_bytes = 0) {
    ServerOptions options;
    options.host = "127.0.0.1";
    options.port = 0;
    options.threads = 1;
    if (max_header_bytes != 0) options.max_header_bytes = max_header_bytes;
    if (max_body_bytes != 0) options.max_body_bytes = max_body_bytes;
    server_ = std::make_unique<Server>(options, [](asio::any_io_executor executor, int) {
      return test_handler(executor, nullptr);
    });
    port_ = server_->listen();
    thread_ = std::thread([this] { server_->run(); });
  }
  ~PlainServer() {
    server_->stop();
    if (thread_.joinable()) thread_.join();
  }
  // The raw bytes of the answer to GET `target` on a connection the client then closes.
  // With `connection` "keep-alive" the client reads until the head and the bytes after it
  // that arrive within 200 ms.
  std::string fetch_raw(const std::string& target, const std::string& version = "1.1",
                        const std::string& connection = "close") {
    asio::io_context io;
    tcp::socket socket(io);
    socket.connect({asio::ip::make_address("127.0.0.1"), port_});
    asio::write(socket, asio::buffer("GET " + target + " HTTP/" + version +
                                     "\r\nHost: x\r\nConnection: " + connection + "\r\n\r\n"));
    std::string got;
    boost::system::error_code ec;
    char buf[4096];
    if (connection != "close") {
      // The server keeps the connection: read what comes, then stop.
      std::this_thread::sleep_for(200ms);
      got.append(buf, socket.read_some(asio::buffer(buf), ec));
      return got;
    }
    while (!ec) {
      const std::size_t n = socket.read_some(asio::buffer(buf), ec);
      got.append(buf, n);
    }
    return got;
  }

  // Writes `pieces` one after another, `pause` apart, then reads until the server closes
  // (give the last request `Connection: close`) or 2 s pass.
  std::string exchange_raw(const std::vector<std::string>& pieces,
                           std::chrono::milliseconds pause = 0ms) {
    asio::io_context io;
    tcp::socket socket(io);
    socket.connect({asio::ip::make_address("127.0.0.1"), port_});
    for (const auto& piece : pieces) {
      asio::write(socket, asio::buffer(piece));
      std::this_thread::sleep_for(pause);
    }
    std::string got;
    boost::system::error_code ec;
    char buf[4096];
    const auto until = std::chrono::steady_clock::now() + 2s;
    while (!ec && std::chrono::steady_clock::now() < until) {
      const std::size_t n = socket.read_some(asio::buffer(buf), ec);
      got.append(buf, n);
    }
    return got;
  }

 private:
  std::unique_ptr<Server> server_;
  std::uint16_t port_ = 0;
  std::thread thread_;
};

// The bytes after the head of a raw answer.
inline std::string after_head(const std::string& raw) {
  const auto end = raw.find("\r\n\r\n");
  return end == std::string::npos ? std::string() : raw.substr(end + 4);
}

// A blocking HTTPS client that trusts the test certificate and checks it names 127.0.0.1.
class TlsClient {
 public:
  TlsClient(const TlsFiles& files, std::uint16_t port)
      : context_(ssl::context::tls_client), stream_(io_, context_) {
    context_.add_certificate_authority(asio::buffer(files.cert_pem()));
    context_.set_verify_mode(ssl::verify_peer);
    stream_.set_verify_callback(ssl::host_name_verification("127.0.0.1"));
    stream_.next_layer().connect({asio::ip::make_address("127.0.0.1"), port});
    stream_.handshake(ssl::stream_base::client);
  }

  void send(const std::string& target, const std::string& method = "GET") {
    http::request<http::string_body> req{http::string_to_verb(method), target, 11};
    req.set(http::field::host, "127.0.0.1");
    req.prepare_payload();
    http::write(stream_, req);
  }
  http::response<http::string_body> receive() {
    http::response<http::string_body> res;
    http::read(stream_, buffer_, res);
    return res;
  }
  void write_raw(const std::string& bytes) { asio::write(stream_, asio::buffer(bytes)); }
  // Sends close_notify (without waiting for the server's) and closes the socket.
  void close_with_notify() {
    SSL_shutdown(stream_.native_handle());
    stream_.next_layer().close();
  }
  ssl::stream<tcp::socket>& stream() { return stream_; }

 private:
  asio::io_context io_;
  ssl::context context_;
  ssl::stream<tcp::socket> stream_;
  boost::beast::flat_buffer buffer_;
};

}  // namespace bc::net::testing_server
