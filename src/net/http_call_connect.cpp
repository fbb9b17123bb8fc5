// Connecting one upstream call (see http_call.h): resolving under the connect deadline (the
// resolver has none of its own), the TCP connect, and over https:// SNI, the host name check
// and the TLS handshake, each failure an Error that says whether another key may retry.
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <boost/asio/connect.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core/error.hpp>
#include <boost/beast/ssl/ssl_stream.hpp>

#include "net/http_call.h"

namespace bc::net::client_detail {

namespace ssl = asio::ssl;

awaitable<Status> HttpCall::connect() {
  const auto deadline = Clock::now() + timeouts_.connect;
  const std::string authority = url().authority();
  auto timed_out = [&] {
    return retryable(Error::timeout(
        "connect timeout (" + in_ms(timeouts_.connect) + ") to " + authority, "connect_timeout"));
  };

  auto pending = std::make_shared<PendingResolve>(executor_);
  resolve_ = pending;
  pending->resolver.async_resolve(url().host, std::to_string(url().port),
                                  tcp::resolver::numeric_service,
                                  [pending](error_code ec, tcp::resolver::results_type results) {
                                    pending->done = true;
                                    pending->ec = ec;
                                    pending->results = std::move(results);
                                    pending->wake.cancel();
                                  });
  pending->wake.expires_at(deadline);
  // Woken by cancellation (the normal case: the resolver finished) or by the deadline; the
  // error code carries no information beyond the flags checked below.
  co_await pending->wake.async_wait(kTuple);
  resolve_.reset();
  if (cancelled_ || !pending->done) {
    pending->resolver.cancel();
    co_return cancelled_ ? cancelled_error(url()) : timed_out();
  }
  if (pending->ec) {
    co_return retryable(Error::upstream(
        "cannot resolve " + url().host + ": " + pending->ec.message(), "resolve_failed"));
  }

  if (url().tls) {
    auto context = tls_.get();
    if (!context) co_return std::move(context).error();
    conn_ = std::make_unique<Connection>(
        pool_key(), std::make_unique<Connection::TlsStream>(executor_, **context));
  } else {
    conn_ = std::make_unique<Connection>(pool_key(), tcp::socket(executor_));
  }
  conn_->deadline().arm_at(deadline);
  auto [raw_connect_ec, endpoint] =
      co_await asio::async_connect(conn_->tcp(), pending->results, kTuple);
  // Over TLS the handshake that follows shares the deadline.
  const auto connect_ec = settle(raw_connect_ec, /*keep=*/url().tls);
  if (cancelled_) co_return cancelled_error(url());
  if (connect_ec == beast::error::timeout) co_return timed_out();
  if (connect_ec) {
    co_return retryable(Error::upstream(
        "cannot connect to " + authority + ": " + connect_ec.message(), "connect_failed"));
  }
  if (!url().tls) co_return Status{};

  auto& stream = conn_->tls();
  error_code ip_ec;
  asio::ip::make_address(url().host, ip_ec);
  // SNI carries host names only (RFC 6066 section 3), never an address literal.
  if (ip_ec && !SSL_set_tlsext_host_name(stream.native_handle(), url().host.c_str())) {
    co_return Error::internal("cannot set TLS SNI for " + authority);
  }
  if (tls_.verify) {
    stream.set_verify_callback(ssl::host_name_verification(url().host));
  }
  auto [raw_handshake_ec] = co_await stream.async_handshake(ssl::stream_base::client, kTuple);
  const auto handshake_ec = settle(raw_handshake_ec);
  if (cancelled_) co_return cancelled_error(url());
  if (handshake_ec == beast::error::timeout) co_return timed_out();
  if (handshake_ec) {
    std::string why = handshake_ec.message();
    const long verify = tls_.verify ? SSL_get_verify_result(stream.native_handle()) : X509_V_OK;
    if (verify != X509_V_OK) {
      // The certificate is the origin's, not the key's: no key action, and no retry (every
      // key of the model would meet the same certificate), so the caller sees this at once.
      why += ": ";
      why += X509_verify_cert_error_string(verify);
      why +=
          " (to trust this upstream, give the model a ca_file with the CA that signed its "
          "certificate, or set tls_verify: false for a local upstream)";
      auto e = Error::upstream("TLS handshake with " + authority + " failed: " + why,
                               "tls_certificate_invalid");
      e.retryable = false;
      co_return e;
    }
    co_return retryable(
        Error::upstream("TLS handshake with " + authority + " failed: " + why, "tls_failed"));
  }
  co_return Status{};
}

}  // namespace bc::net::client_detail
