// The server over TLS: keep-alive, pipelining beside the disconnect watch, close_notify, a
// plain client refused, prompt stop, files that do not load.

#include <gtest/gtest.h>

#include "net/http_server.h"
#include "net/http_server_test_support.h"

namespace bc::net {
namespace {

using namespace testing_server;

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
