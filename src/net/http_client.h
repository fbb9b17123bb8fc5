// The pooled HTTP/1.1 client for http:// and https:// upstreams (Boost.Beast, OpenSSL).
//
// Threading: one HttpClient per worker thread, used only from coroutines on that thread's
// io_context (run by exactly one thread), so the connection pool takes no locks. A call keeps
// the client's shared state alive, so a call may outlive the HttpClient that made it.
#pragma once

#include <chrono>
#include <cstddef>
#include <memory>
#include <string>

#include <boost/asio/any_io_executor.hpp>

#include "core/result.h"
#include "net/upstream.h"

namespace bc::net {

struct HttpClientOptions {
  // Idle keep-alive connections kept per origin (scheme, host, port).
  std::size_t max_idle_per_origin = 64;
  // An idle connection older than this is closed instead of reused.
  std::chrono::milliseconds idle_ttl{60'000};
  // Verify the server's certificate chain and host name (RFC 6125) on https://. When false,
  // no call verifies, whatever its TlsPolicy says.
  bool verify_peer = true;
  // A PEM bundle trusted in addition to the system's default CA paths, by every call (a
  // call's TlsPolicy::ca_file is trusted besides it); empty for none.
  std::string ca_file;
  // Upper bound on the response status line plus headers.
  std::size_t max_header_bytes = 64 * 1024;
  // Sent unless the request carries its own User-Agent.
  std::string user_agent = "BalancedCall/0.1";
};

class HttpClient final : public Upstream {
 public:
  // A CA file that does not load fails the https:// calls that need it (check_ca_file() finds
  // that at startup); nothing is loaded before the first such call.
  HttpClient(boost::asio::any_io_executor executor, HttpClientOptions options);
  ~HttpClient() override;
  HttpClient(const HttpClient&) = delete;
  HttpClient& operator=(const HttpClient&) = delete;

  using Upstream::call;
  // A call for one http:// or https:// request; any other scheme fails in start(). `tls`
  // picks the TLS context (one per distinct policy, made on first use) and the pool the
  // connection comes from and returns to. A policy whose CA file cannot be loaded makes
  // start() fail (check_ca_file() finds that at startup).
  std::unique_ptr<UpstreamCall> call(const TlsPolicy& tls) override;

  // Idle pooled connections, over all origins (for tests and gauges).
  std::size_t idle_connections() const;

  struct State;  // options, TLS context and pool, shared with the calls

 private:
  boost::asio::any_io_executor executor_;
  std::shared_ptr<State> state_;
};

// Whether `ca_file` loads as a PEM CA bundle: an error naming the file and OpenSSL's reason.
// For startup checks; HttpClient loads the same files lazily.
Status check_ca_file(const std::string& ca_file);

}  // namespace bc::net
