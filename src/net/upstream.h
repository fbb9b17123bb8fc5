// The gateway's view of an upstream: start one call, read its body piece by piece as it
// arrives. Implemented by the pooled HTTP/HTTPS client (net/http_client.h) and by the
// in-process mock upstream (gateway/mock_upstream.h).
//
// Threading: every object here belongs to one worker thread (one io_context). All calls,
// including cancel(), are made from coroutines running on that thread.
#pragma once

#include <chrono>
#include <memory>
#include <string>

#include <boost/asio/awaitable.hpp>

#include "core/clock.h"
#include "core/http.h"
#include "core/result.h"

namespace bc::net {

using boost::asio::awaitable;

struct Timeouts {
  std::chrono::milliseconds connect{10'000};     // TCP connect + TLS handshake
  std::chrono::milliseconds first_byte{60'000};  // request sent -> response head received
  std::chrono::milliseconds idle{60'000};        // between two pieces of the body
  // No read of the body waits past this (the request's own deadline): a body that trickles
  // in a byte at a time ends here, however often its bytes come.
  TimePoint deadline = TimePoint::max();
};

// One attempt against an upstream. Destroying it before the body has been read to the end
// closes the connection instead of returning it to the pool.
class UpstreamCall {
 public:
  virtual ~UpstreamCall() = default;
  // Sends the request and waits for the response head. Errors: connect failure or timeout,
  // TLS failure, first-byte timeout, malformed response, cancellation.
  virtual awaitable<Status> start(const UpstreamRequest& request, const Timeouts& timeouts) = 0;
  // Valid after start() succeeded.
  virtual int status() const = 0;
  virtual const Headers& headers() const = 0;
  // The response's headers moved out, for a caller done with the call (headers() is empty
  // afterwards): a non-streamed answer hands them on without copying ~10 strings.
  virtual Headers take_headers() = 0;
  // The next piece of the body as it arrives (never buffered whole); an empty string once the
  // body is complete. An error on idle timeout, a cut connection or cancellation.
  virtual awaitable<Result<std::string>> read_some() = 0;
  // True once the whole body has been read: the next read_some() answers "" at once.
  virtual bool body_complete() const = 0;
  // Reads the rest of the body into one string (for non-streamed answers), bounded by
  // `max_bytes`.
  virtual awaitable<Result<std::string>> read_all(std::size_t max_bytes) = 0;
  // Aborts whatever is pending (start or read) at once; it completes with an error and the
  // connection is dropped. Safe to call at any time, also before start() and after the end.
  virtual void cancel() = 0;
};

// How an https:// upstream's certificate is checked (a model's `tls_verify` and `ca_file`);
// ignored for http://. Connections made under different policies are never pooled together,
// so a model's opt-out does not reach another model on the same origin.
struct TlsPolicy {
  bool verify = true;   // check the certificate chain and the host name
  std::string ca_file;  // a PEM bundle trusted besides the client's own; empty: none

  bool operator==(const TlsPolicy&) const = default;
};

class Upstream {
 public:
  virtual ~Upstream() = default;
  // A call under the default policy: certificates verified against the client's trust store.
  std::unique_ptr<UpstreamCall> call() { return call(TlsPolicy{}); }
  virtual std::unique_ptr<UpstreamCall> call(const TlsPolicy& tls) = 0;
};

}  // namespace bc::net
