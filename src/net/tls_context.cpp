// The TLS contexts of the listener and of the upstream client (see tls_context.h), and the
// startup checks of their files.
#include "net/tls_context.h"

#include <openssl/ssl.h>
#include <boost/asio/ssl/context.hpp>

#include "net/http_client.h"
#include "net/http_server.h"

namespace bc::net {

namespace ssl = boost::asio::ssl;
using boost::system::error_code;

namespace {

Error ca_file_error(const std::string& ca_file, const error_code& ec) {
  return Error::internal("cannot load the CA file '" + ca_file + "': " + ec.message(),
                         "tls_ca_file");
}

}  // namespace

Result<std::unique_ptr<ssl::context>> make_server_tls_context(const std::string& cert_file,
                                                              const std::string& key_file) {
  auto context = std::make_unique<ssl::context>(ssl::context::tls_server);
  context->set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 |
                       ssl::context::no_sslv3 | ssl::context::no_tlsv1 | ssl::context::no_tlsv1_1 |
                       ssl::context::single_dh_use);
  error_code ec;
  context->use_certificate_chain_file(cert_file, ec);
  if (ec) {
    return Error::internal("cannot load the TLS certificate chain '" + cert_file +
                           "': " + ec.message());
  }
  context->use_private_key_file(key_file, ssl::context::pem, ec);
  // OpenSSL checks the key against the certificate as it loads it.
  if (ec && ec.message().find("mismatch") == std::string::npos) {
    return Error::internal("cannot load the TLS private key '" + key_file + "': " + ec.message());
  }
  if (ec || SSL_CTX_check_private_key(context->native_handle()) != 1) {
    return Error::internal("the TLS private key '" + key_file +
                           "' does not match the certificate '" + cert_file + "'");
  }
  return context;
}

Result<std::unique_ptr<ssl::context>> make_client_tls_context(bool verify,
                                                              const std::string& ca_file,
                                                              const std::string& extra_ca) {
  auto context = std::make_unique<ssl::context>(ssl::context::tls_client);
  error_code ec;
  context->set_default_verify_paths(ec);
  if (ec) {
    return Error::internal("cannot use the system's CA paths: " + ec.message(), "tls_ca_file");
  }
  for (const std::string* file : {&ca_file, &extra_ca}) {
    if (file->empty()) continue;
    context->load_verify_file(*file, ec);
    if (ec) return ca_file_error(*file, ec);
  }
  context->set_verify_mode(verify ? ssl::verify_peer : ssl::verify_none);
  return context;
}

Status check_server_tls(const std::string& cert_file, const std::string& key_file) {
  auto context = make_server_tls_context(cert_file, key_file);
  if (!context) return std::move(context).error();
  return {};
}

Status check_ca_file(const std::string& ca_file) {
  // The file alone, on a bare context: the system's store is not what is checked.
  ssl::context context(ssl::context::tls_client);
  error_code ec;
  context.load_verify_file(ca_file, ec);
  if (ec) return ca_file_error(ca_file, ec);
  return {};
}

}  // namespace bc::net
