// The client over TLS against a self-signed server on 127.0.0.1: verification, CA files, SNI,
// and pooled connections kept apart by how they were verified.
#include "net/http_client.h"

#include "net/client_test_support.h"

namespace bc::net {
namespace {

using namespace testing_client;  // asio, ssl, tcp, kTuple, the servers and the fixture

class HttpClientTlsTest : public HttpClientTest {
 protected:
  HttpClientTlsTest() : cert_(make_self_signed_cert()), server_tls_(ssl::context::tls_server) {
    server_tls_.use_certificate_chain(asio::buffer(cert_.cert_pem));
    server_tls_.use_private_key(asio::buffer(cert_.key_pem), ssl::context::pem);
    ca_file_ = std::filesystem::temp_directory_path() /
               ("bc_net_client_test_ca_" + std::to_string(::getpid()) + ".pem");
    std::ofstream(ca_file_) << cert_.cert_pem;
  }
  ~HttpClientTlsTest() override { std::filesystem::remove(ca_file_); }

  // Serves one TLS connection: handshake, then `ok` for each request. Records the SNI name.
  void serve_tls(TestServer& server) {
    spawn([this, &server]() -> awaitable<void> {
      auto socket = co_await server.accept();
      ssl::stream<tcp::socket> stream(std::move(socket), server_tls_);
      // A client that rejects the certificate aborts the handshake: an expected outcome.
      auto [ec] = co_await stream.async_handshake(ssl::stream_base::server, kTuple);
      if (ec) co_return;
      if (const char* sni = SSL_get_servername(stream.native_handle(), TLSEXT_NAMETYPE_host_name)) {
        sni_ = sni;
      }
      std::string pending;
      while (!(co_await read_request(stream, pending)).empty()) {
        co_await send(stream, "HTTP/1.1 200 OK\r\nContent-Length: 6\r\n\r\nsecure");
      }
    });
  }

  SelfSignedCert cert_;
  ssl::context server_tls_;
  std::filesystem::path ca_file_;
  std::string sni_;
};

TEST_F(HttpClientTlsTest, RejectsUntrustedCertificateWhenVerifyingPeer) {
  TestServer server(io_);
  serve_tls(server);
  run([&]() -> awaitable<void> {
    auto call = client_.call();
    auto started = co_await call->start(
        request("https://127.0.0.1:" + std::to_string(server.port()) + "/v1"), timeouts_);
    CO_ASSERT_TRUE(!started.ok());
    const Error& error = started.error();
    EXPECT_EQ(error.kind, ErrorKind::kUpstream);
    EXPECT_EQ(error.code, "tls_certificate_invalid");
    EXPECT_FALSE(error.retryable);  // every key of the model would meet the same certificate
    EXPECT_EQ(error.key_action, KeyAction::kNone);  // the certificate is not the key's fault
    EXPECT_NE(error.message.find("TLS handshake with 127.0.0.1:" + std::to_string(server.port()) +
                                 " failed: certificate verify failed"),
              std::string::npos)
        << error.message;
    EXPECT_NE(error.message.find("self-signed certificate"), std::string::npos) << error.message;
    EXPECT_NE(error.message.find("tls_verify: false"), std::string::npos) << error.message;
  });
}

TEST_F(HttpClientTlsTest, AcceptsCertificateTrustedThroughCaFileWithHostNameAndSni) {
  TestServer server(io_);
  serve_tls(server);
  HttpClientOptions options;
  options.ca_file = ca_file_.string();
  HttpClient client(io_.get_executor(), options);
  run([&]() -> awaitable<void> {
    const auto url = "https://localhost:" + std::to_string(server.port()) + "/v1";
    EXPECT_EQ(co_await fetch(client, url), "secure");
    EXPECT_EQ(co_await fetch(client, url), "secure");  // over the pooled TLS connection
  });
  EXPECT_EQ(server.accepted, 1);
  EXPECT_EQ(sni_, "localhost");
}

TEST_F(HttpClientTlsTest, AcceptsAddressLiteralMatchingIpSan) {
  TestServer server(io_);
  serve_tls(server);
  HttpClientOptions options;
  options.ca_file = ca_file_.string();
  HttpClient client(io_.get_executor(), options);
  run([&]() -> awaitable<void> {
    EXPECT_EQ(co_await fetch(client, "https://127.0.0.1:" + std::to_string(server.port()) + "/"),
              "secure");
  });
  EXPECT_EQ(sni_, "");  // no SNI for an address
}

TEST_F(HttpClientTlsTest, VerifyPeerOffAcceptsAnyCertificate) {
  TestServer server(io_);
  serve_tls(server);
  HttpClientOptions options;
  options.verify_peer = false;
  HttpClient client(io_.get_executor(), options);
  run([&]() -> awaitable<void> {
    EXPECT_EQ(co_await fetch(client, "https://127.0.0.1:" + std::to_string(server.port()) + "/"),
              "secure");
  });
}

TEST_F(HttpClientTlsTest, PolicyWithoutVerificationAcceptsSelfSignedCertificate) {
  TestServer server(io_);
  serve_tls(server);
  run([&]() -> awaitable<void> {
    const TlsPolicy no_verify{false, ""};
    EXPECT_EQ(co_await fetch(client_, "https://127.0.0.1:" + std::to_string(server.port()) + "/",
                             no_verify),
              "secure");
  });
}

TEST_F(HttpClientTlsTest, PolicyCaFileTrustsItsCertificate) {
  TestServer server(io_);
  serve_tls(server);
  run([&]() -> awaitable<void> {
    const auto url = "https://localhost:" + std::to_string(server.port()) + "/";
    const TlsPolicy tls{true, ca_file_.string()};
    EXPECT_EQ(co_await fetch(client_, url, tls), "secure");
    EXPECT_EQ(co_await fetch(client_, url, tls), "secure");  // pooled under the same policy
  });
  EXPECT_EQ(server.accepted, 1);
  EXPECT_EQ(client_.idle_connections(), 1u);
}

// The opt-out of one model must not leak to another on the same origin: a connection made
// without verification is never reused by a call that verifies.
TEST_F(HttpClientTlsTest, UnverifiedPooledConnectionIsNotReusedByVerifyingCall) {
  TestServer server(io_);
  serve_tls(server);
  serve_tls(server);
  run([&]() -> awaitable<void> {
    const auto url = "https://127.0.0.1:" + std::to_string(server.port()) + "/";
    const TlsPolicy no_verify{false, ""};
    EXPECT_EQ(co_await fetch(client_, url, no_verify), "secure");
    EXPECT_EQ(client_.idle_connections(), 1u);
    const auto verified = co_await fetch(client_, url);
    EXPECT_NE(verified.find("certificate verify failed"), std::string::npos) << verified;
    // The unverified connection is still pooled, for calls under its own policy only.
    EXPECT_EQ(client_.idle_connections(), 1u);
    EXPECT_EQ(co_await fetch(client_, url, no_verify), "secure");
  });
  EXPECT_EQ(server.accepted, 2);
}

TEST_F(HttpClientTlsTest, VerifyingCallDoesNotReuseConnectionTrustedThroughAnotherCaFile) {
  TestServer server(io_);
  serve_tls(server);
  serve_tls(server);
  run([&]() -> awaitable<void> {
    const auto url = "https://localhost:" + std::to_string(server.port()) + "/";
    const TlsPolicy trusted{true, ca_file_.string()};
    EXPECT_EQ(co_await fetch(client_, url, trusted), "secure");
    const auto other = co_await fetch(client_, url);
    EXPECT_NE(other.find("certificate verify failed"), std::string::npos) << other;
  });
  EXPECT_EQ(server.accepted, 2);
}

TEST_F(HttpClientTlsTest, UnloadableCaFileFailsTheCallWithoutConnecting) {
  TestServer server(io_);
  run([&]() -> awaitable<void> {
    const TlsPolicy missing{true, "/nonexistent/bc-ca.pem"};
    auto call = client_.call(missing);
    auto started = co_await call->start(
        request("https://127.0.0.1:" + std::to_string(server.port()) + "/"), timeouts_);
    CO_ASSERT_TRUE(!started.ok());
    EXPECT_EQ(started.error().code, "tls_ca_file");
    EXPECT_FALSE(started.error().retryable);
    EXPECT_NE(started.error().message.find("/nonexistent/bc-ca.pem"), std::string::npos);
  });
  EXPECT_EQ(server.accepted, 0);
}

TEST_F(HttpClientTlsTest, PolicyIsIgnoredForPlainHttp) {
  TestServer server(io_);
  serve(server, "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nplain");
  run([&]() -> awaitable<void> {
    const TlsPolicy no_verify{false, ""};
    EXPECT_EQ(co_await fetch(client_, server.url("/"), no_verify), "plain");
    // Plain connections are shared whatever the policy.
    EXPECT_EQ(co_await fetch(client_, server.url("/")), "plain");
  });
  EXPECT_EQ(server.accepted, 1);
}

TEST(CheckCaFile, LoadsPemBundleAndNamesFileThatDoesNotLoad) {
  const auto path = std::filesystem::temp_directory_path() /
                    ("bc_check_ca_" + std::to_string(::getpid()) + ".pem");
  std::ofstream(path) << make_self_signed_cert().cert_pem;
  EXPECT_TRUE(check_ca_file(path.string()).ok());
  std::ofstream(path) << "not a certificate\n";
  auto garbage = check_ca_file(path.string());
  ASSERT_FALSE(garbage.ok());
  EXPECT_NE(garbage.error().message.find(path.string()), std::string::npos);
  std::filesystem::remove(path);
  auto missing = check_ca_file(path.string());
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.error().message.find("cannot load the CA file"), std::string::npos);
}

}  // namespace
}  // namespace bc::net
