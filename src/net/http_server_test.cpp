#include "net/http_server.h"

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

#include "net/tls_test_support.h"

namespace bc::net {
namespace {

namespace asio = boost::asio;
namespace ssl = asio::ssl;
namespace http = boost::beast::http;
using tcp = asio::ip::tcp;
using namespace std::chrono_literals;

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
Headers extra_fields() {
  return {{"X-Request-Id", "r-1"}, {"Retry-After", "3"}};
}
Headers stream_fields() {
  return {{"Cache-Control", "no-cache"}};
}

Handler test_handler(asio::any_io_executor executor, std::promise<void>* gone) {
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
std::string after_head(const std::string& raw) {
  const auto end = raw.find("\r\n\r\n");
  return end == std::string::npos ? std::string() : raw.substr(end + 4);
}

TEST(HttpServerStream, HeadLeavesWithFirstChunkAndLastChunkWithTheEnd) {
  PlainServer server;
  const std::string raw = server.fetch_raw("/stream-end");
  EXPECT_EQ(raw.rfind("HTTP/1.1 200 OK\r\n", 0), 0u) << raw;
  EXPECT_NE(raw.find("Transfer-Encoding: chunked\r\n"), std::string::npos) << raw;
  EXPECT_EQ(after_head(raw), "2\r\nab\r\n4\r\ntail\r\n0\r\n\r\n");
  // Each write() is its own chunk.
  EXPECT_EQ(after_head(server.fetch_raw("/stream")), "1\r\na\r\n1\r\nb\r\n1\r\nc\r\n0\r\n\r\n");
}

TEST(HttpServerStream, StreamWithNoDataStillSendsItsHeadAndEnd) {
  PlainServer server;
  const std::string raw = server.fetch_raw("/stream-empty");
  EXPECT_EQ(raw.rfind("HTTP/1.1 200 OK\r\n", 0), 0u) << raw;
  EXPECT_EQ(after_head(raw), "0\r\n\r\n");
}

TEST(HttpServerStream, Http10StreamIsRawBytesEndedByClose) {
  PlainServer server;
  const std::string raw = server.fetch_raw("/stream-end", "1.0");
  EXPECT_EQ(raw.rfind("HTTP/1.0 200 OK\r\n", 0), 0u) << raw;
  EXPECT_EQ(raw.find("chunked"), std::string::npos) << raw;
  EXPECT_EQ(after_head(raw), "abtail");
}

// Requests are read from whatever the buffer holds first, then from the socket: every way a
// request can arrive (whole, several in one write, in pieces, chunked, after 100 Continue) and
// every way it can be refused in its first bytes gets the same answer.
std::string post(const std::string& body, const std::string& connection = "keep-alive") {
  return "POST /echo HTTP/1.1\r\nHost: x\r\nConnection: " + connection +
         "\r\nContent-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body;
}
// The bodies of the answers in `raw`, in order.
std::vector<std::string> bodies(std::string raw) {
  std::vector<std::string> out;
  for (;;) {
    const auto head_end = raw.find("\r\n\r\n");
    const auto length_at = raw.find("Content-Length: ");
    if (head_end == std::string::npos || length_at == std::string::npos) return out;
    const std::size_t length = std::stoul(raw.substr(length_at + 16));
    out.push_back(raw.substr(head_end + 4, length));
    raw.erase(0, head_end + 4 + length);
  }
}

TEST(HttpServerRequests, PipelinedRequestsInOneWriteAreAnsweredInOrder) {
  PlainServer server;
  const std::string raw =
      server.exchange_raw({post("abc") + post("") + post("xy") +
                           "GET /plain HTTP/1.1\r\nHost: x\r\n\r\n" + post("last", "close")});
  EXPECT_EQ(bodies(raw), (std::vector<std::string>{"abc", "", "xy", "hello", "last"})) << raw;
}

TEST(HttpServerRequests, ARequestInPiecesIsReadWhole) {
  PlainServer server;
  const std::string whole = post("0123456789", "close");
  const std::size_t head = whole.find("\r\n\r\n") + 4;
  // The head cut in a line, the rest of it, then the body in two pieces.
  const std::string raw = server.exchange_raw({whole.substr(0, 20), whole.substr(20, head - 20),
                                               whole.substr(head, 4), whole.substr(head + 4)},
                                              30ms);
  EXPECT_EQ(bodies(raw), (std::vector<std::string>{"0123456789"})) << raw;
  // A head whole and its body later.
  const std::string later = server.exchange_raw({whole.substr(0, head), whole.substr(head)}, 30ms);
  EXPECT_EQ(bodies(later), (std::vector<std::string>{"0123456789"})) << later;
}

TEST(HttpServerRequests, AChunkedBodyIsReadWholeInOneWriteOrInPieces) {
  PlainServer server;
  const std::string request =
      "POST /echo HTTP/1.1\r\nHost: x\r\nConnection: close\r\nTransfer-Encoding: "
      "chunked\r\n\r\n3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n";
  EXPECT_EQ(bodies(server.exchange_raw({request})), (std::vector<std::string>{"abcde"}));
  EXPECT_EQ(bodies(server.exchange_raw({request.substr(0, 90), request.substr(90)}, 30ms)),
            (std::vector<std::string>{"abcde"}));
}

// An answer larger than the socket takes at once: what it takes is sent at once, the rest when
// the slow reader makes room, all of it in order.
TEST(HttpServerRequests, AnAnswerLargerThanTheSocketReachesASlowReaderWhole) {
  PlainServer server;
  const std::string raw =
      server.exchange_raw({"GET /big HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"}, 300ms);
  EXPECT_EQ(bodies(raw), (std::vector<std::string>{std::string(8 << 20, 'z')}));
  const std::string streamed = server.exchange_raw(
      {"GET /big-stream HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"}, 300ms);
  EXPECT_EQ(after_head(streamed),
            "800000\r\n" + std::string(8 << 20, 's') + "\r\n3\r\nend\r\n0\r\n\r\n");
}

TEST(HttpServerRequests, ExpectContinueGetsA100ThenTheAnswer) {
  PlainServer server;
  const std::string head =
      "POST /echo HTTP/1.1\r\nHost: x\r\nConnection: close\r\nExpect: "
      "100-continue\r\nContent-Length: 4\r\n\r\n";
  const std::string raw = server.exchange_raw({head, "body"}, 100ms);
  EXPECT_EQ(raw.rfind("HTTP/1.1 100 Continue\r\n\r\n", 0), 0u) << raw;
  EXPECT_EQ(bodies(raw.substr(raw.find("\r\n\r\n") + 4)), (std::vector<std::string>{"body"}))
      << raw;
}

TEST(HttpServerRequests, RequestsRefusedByTheirFirstBytesGetTheirStatus) {
  PlainServer server(1024, 16);
  const auto status_of = [&](const std::string& request) {
    const std::string raw = server.exchange_raw({request});
    return raw.substr(0, raw.find("\r\n"));
  };
  // Each fits the server's first read (4 KiB), so the buffered parse meets it.
  EXPECT_EQ(
      status_of("GET /plain HTTP/1.1\r\nHost: x\r\nX-Big: " + std::string(2000, 'a') + "\r\n\r\n"),
      "HTTP/1.1 431 Request Header Fields Too Large");
  EXPECT_EQ(status_of(post(std::string(17, 'b'))), "HTTP/1.1 413 Payload Too Large");
  EXPECT_EQ(status_of("POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
                      "11\r\n" +
                      std::string(17, 'c') + "\r\n0\r\n\r\n"),
            "HTTP/1.1 413 Payload Too Large");
  EXPECT_EQ(status_of("GET /plain HTTP/1.1\r\nHost: x\r\nBad Header\r\n\r\n"),
            "HTTP/1.1 400 Bad Request");
  EXPECT_EQ(status_of("GET /plain HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nab"),
            "HTTP/1.1 400 Bad Request");
  // And the same server still answers a good request.
  EXPECT_EQ(bodies(server.exchange_raw({post("ok", "close")})), (std::vector<std::string>{"ok"}));
}

TEST(HttpServerHead, EveryKindOfAnswerHasItsExactHead) {
  PlainServer server;
  struct Case {
    std::string target, version, connection, head;
  };
  const std::vector<Case> cases = {
      {"/plain", "1.1", "close",
       "HTTP/1.1 200 OK\r\nServer: balancedcall\r\nContent-Type: text/plain\r\nConnection: "
       "close\r\nContent-Length: 5\r\n\r\n"},
      {"/plain", "1.1", "keep-alive",
       "HTTP/1.1 200 OK\r\nServer: balancedcall\r\nContent-Type: text/plain\r\nContent-Length: "
       "5\r\n\r\n"},
      {"/plain", "1.0", "keep-alive",
       "HTTP/1.0 200 OK\r\nServer: balancedcall\r\nContent-Type: text/plain\r\nConnection: "
       "keep-alive\r\nContent-Length: 5\r\n\r\n"},
      {"/plain", "1.0", "close",
       "HTTP/1.0 200 OK\r\nServer: balancedcall\r\nContent-Type: text/plain\r\nContent-Length: "
       "5\r\n\r\n"},
      {"/extra", "1.1", "keep-alive",
       "HTTP/1.1 201 Created\r\nServer: balancedcall\r\nContent-Type: "
       "application/json\r\nX-Request-Id: r-1\r\nRetry-After: 3\r\nContent-Length: 2\r\n\r\n"},
      {"/no-content", "1.1", "keep-alive",
       "HTTP/1.1 204 No Content\r\nServer: balancedcall\r\nContent-Type: text/plain\r\n\r\n"},
      {"/stream-extra", "1.1", "keep-alive",
       "HTTP/1.1 200 OK\r\nServer: balancedcall\r\nContent-Type: "
       "text/event-stream\r\nCache-Control: "
       "no-cache\r\nTransfer-Encoding: chunked\r\n\r\n"},
      {"/stream-extra", "1.1", "close",
       "HTTP/1.1 200 OK\r\nServer: balancedcall\r\nContent-Type: "
       "text/event-stream\r\nCache-Control: "
       "no-cache\r\nConnection: close\r\nTransfer-Encoding: chunked\r\n\r\n"},
      {"/stream-extra", "1.0", "keep-alive",
       "HTTP/1.0 200 OK\r\nServer: balancedcall\r\nContent-Type: "
       "text/event-stream\r\nCache-Control: "
       "no-cache\r\n\r\n"},
  };
  for (const auto& c : cases) {
    const std::string raw = server.fetch_raw(c.target, c.version, c.connection);
    const auto end = raw.find("\r\n\r\n");
    EXPECT_EQ(raw.substr(0, end == std::string::npos ? raw.size() : end + 4), c.head)
        << c.target << " HTTP/" << c.version << " Connection: " << c.connection;
  }
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

TEST(HttpServerTls, ServesRequestsAndStreamsOnOneKeepAliveConnection) {
  TlsFiles files;
  TlsServer server(files);
  TlsClient client(files, server.port());
  client.send("/plain");
  auto first = client.receive();
  EXPECT_EQ(first.result_int(), 200);
  EXPECT_EQ(first.body(), "hello");
  EXPECT_TRUE(first.keep_alive());
  client.send("/stream", "POST");
  auto streamed = client.receive();
  EXPECT_EQ(streamed.result_int(), 200);
  EXPECT_TRUE(streamed.chunked());
  EXPECT_EQ(streamed.body(), "abc");
  client.send("/plain");
  EXPECT_EQ(client.receive().body(), "hello");
}

TEST(HttpServerTls, PipelinedRequestReadByTheDisconnectWatchIsServedNext) {
  TlsFiles files;
  TlsServer server(files);
  TlsClient client(files, server.port());
  client.write_raw(
      "GET /watched HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"
      "GET /plain HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n");
  auto first = client.receive();
  EXPECT_EQ(first.result_int(), 200);
  EXPECT_EQ(first.body(), "watched");
  EXPECT_EQ(client.receive().body(), "hello");
}

TEST(HttpServerTls, ClientLeavingWithCloseNotifyIsNoticedMidRequest) {
  TlsFiles files;
  std::promise<void> gone;
  auto noticed = gone.get_future();
  TlsServer server(files, &gone);
  TlsClient client(files, server.port());
  client.send("/watched");
  std::this_thread::sleep_for(50ms);  // the handler is watching now
  client.close_with_notify();
  EXPECT_EQ(noticed.wait_for(2s), std::future_status::ready);
}

TEST(HttpServerTls, PlainHttpClientGetsNoAnswer) {
  TlsFiles files;
  TlsServer server(files);
  asio::io_context io;
  tcp::socket socket(io);
  socket.connect({asio::ip::make_address("127.0.0.1"), server.port()});
  asio::write(socket, asio::buffer(std::string("GET /plain HTTP/1.1\r\nHost: x\r\n\r\n")));
  std::string got(4096, '\0');
  boost::system::error_code ec;
  std::size_t total = 0;
  while (!ec && total < got.size()) {
    total += socket.read_some(asio::buffer(got.data() + total, got.size() - total), ec);
  }
  got.resize(total);
  EXPECT_TRUE(ec) << "the server kept a plain connection open";
  EXPECT_EQ(got.find("hello"), std::string::npos) << got;
  EXPECT_NE(got.rfind("HTTP/1.1 200", 0), 0u) << got;
}

TEST(HttpServerTls, RequestPipelinedDuringAWatchedStreamIsServedAfterIt) {
  // Over TLS the disconnect watch reads into the connection's buffer while the stream runs;
  // a request the client sends meanwhile must be kept there and answered next (the buffer
  // once was freed under that read when the stream began: a use-after-free).
  TlsFiles files;
  TlsServer server(files);
  TlsClient client(files, server.port());
  client.send("/watched-stream");
  std::this_thread::sleep_for(100ms);  // the stream has begun and the watch is reading
  client.send("/plain");
  auto streamed = client.receive();
  EXPECT_EQ(streamed.result_int(), 200);
  EXPECT_EQ(streamed.body(), "done");
  auto next = client.receive();
  EXPECT_EQ(next.result_int(), 200);
  EXPECT_EQ(next.body(), "hello");
}

TEST(HttpServerTls, StopEndsIdleTlsConnectionsPromptly) {
  TlsFiles files;
  TlsServer server(files);
  TlsClient client(files, server.port());
  client.send("/plain");
  EXPECT_EQ(client.receive().body(), "hello");
  const auto start = std::chrono::steady_clock::now();
  server.stop();
  EXPECT_LT(std::chrono::steady_clock::now() - start, 1500ms);
}

TEST(HttpServerTls, CheckNamesTheFileThatDoesNotLoad) {
  TlsFiles files;
  EXPECT_TRUE(check_server_tls(files.cert_file(), files.key_file()).ok());

  auto missing = check_server_tls("/nonexistent/bc/cert.pem", files.key_file());
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.error().message.find("certificate chain '/nonexistent/bc/cert.pem'"),
            std::string::npos)
      << missing.error().message;

  auto bad_key = check_server_tls(files.cert_file(), files.cert_file());
  ASSERT_FALSE(bad_key.ok());
  EXPECT_NE(bad_key.error().message.find("private key '" + files.cert_file() + "'"),
            std::string::npos)
      << bad_key.error().message;

  auto mismatch = check_server_tls(files.cert_file(), files.other_key_file());
  ASSERT_FALSE(mismatch.ok());
  EXPECT_NE(mismatch.error().message.find("does not match"), std::string::npos)
      << mismatch.error().message;
}

TEST(HttpServerTls, ServerConstructorThrowsOnUnloadableFiles) {
  ServerOptions options;
  options.threads = 1;
  options.tls_cert_file = "/nonexistent/bc/cert.pem";
  options.tls_key_file = "/nonexistent/bc/key.pem";
  EXPECT_THROW(Server(options, [](asio::any_io_executor, int) -> Handler { return {}; }),
               std::runtime_error);
}

}  // namespace
}  // namespace bc::net
