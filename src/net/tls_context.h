// The TLS contexts of both sides, made in one place: the listener's (its certificate chain and
// key) and the upstream client's (the CAs it trusts). Errors name the file that does not load
// and OpenSSL's reason.
#pragma once

#include <memory>
#include <string>

#include "core/result.h"

namespace boost::asio::ssl {
class context;
}

namespace bc::net {

// The listener's: TLS 1.2 and later, the PEM certificate chain (the server's certificate
// first) and its private key, which must match it.
Result<std::unique_ptr<boost::asio::ssl::context>> make_server_tls_context(
    const std::string& cert_file, const std::string& key_file);

// The upstream client's: trusts the system's default CA paths, `ca_file` and `extra_ca` (either
// may be empty); verifies the peer's chain when `verify` (the host name is checked per
// connection). An error (code tls_ca_file) names the CA file that does not load.
Result<std::unique_ptr<boost::asio::ssl::context>> make_client_tls_context(
    bool verify, const std::string& ca_file, const std::string& extra_ca);

}  // namespace bc::net
