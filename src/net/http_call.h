// Inside the upstream client (net/http_client.h): the state the client shares with its calls,
// and one call's state machine (HttpCall): take a pooled connection or connect, send the
// request, read the response head past interim answers, then the body piece by piece, and
// give the connection back only after a clean exchange. Connecting (resolving with a
// deadline, TCP, the TLS handshake) is in http_call_connect.cpp, the rest in http_call.cpp.
#pragma once

#include <chrono>
#include <cstddef>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <tuple>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/flat_buffer.hpp>

#include "net/connection_pool.h"
#include "net/http_client.h"
#include "net/request_writer.h"
#include "net/response_parser.h"
#include "net/tls_profile.h"

namespace bc::net {

// Internal to the client's files: these names are theirs.
namespace client_detail {
namespace asio = boost::asio;
namespace beast = boost::beast;
using tcp = asio::ip::tcp;
using boost::system::error_code;

// Every network operation of a call is awaited with as_tuple(use_awaitable): a failure
// (refused, reset, EOF, timeout, TLS alert, our own cancel()) is an expected outcome that
// becomes an Error value, never an exception thrown through the gateway's coroutines.
inline constexpr auto kTuple = asio::as_tuple(asio::use_awaitable);

// The read buffer of one call: one recv takes a whole ordinary answer (head and a ~1 KB body)
// or a good part of a burst of stream events. It is the only buffer an open stream holds.
inline constexpr std::size_t kReadBytes = 4096;
inline constexpr std::size_t kSmallRead = 512;  // Beast's own smallest read
// Interim (1xx) answers skipped before a response; more is a broken upstream.
inline constexpr int kMaxInterimAnswers = 8;

inline std::string in_ms(std::chrono::milliseconds d) {
  return std::to_string(d.count()) + " ms";
}

inline Error cancelled_error(const Url& url) {
  return Error::upstream("call to " + url.authority() + " was cancelled", "cancelled");
}

inline Error retryable(Error e) {
  e.retryable = true;
  return e;
}

// The resolver has no deadline of its own and cannot be interrupted promptly, so its result is
// delivered to this shared block and the call waits on `wake` instead: the deadline or cancel()
// ends the wait at once, and a late answer lands here harmlessly.
struct PendingResolve {
  explicit PendingResolve(const asio::any_io_executor& executor)
      : resolver(executor), wake(executor) {}
  tcp::resolver resolver;
  asio::steady_timer wake;
  bool done = false;
  error_code ec;
  tcp::resolver::results_type results;
};
}  // namespace client_detail

struct HttpClient::State {
  explicit State(HttpClientOptions o)
      : options(std::move(o)), pool(options.max_idle_per_origin, options.idle_ttl) {
    base.ca_file = options.ca_file;
    base.verify = options.verify_peer;
  }

  // The profile for `tls`, made on first use; the default policy is `base`.
  const TlsProfile& profile(const TlsPolicy& tls);

  HttpClientOptions options;
  TlsProfile base;
  std::map<std::string, std::unique_ptr<TlsProfile>> profiles;  // by pool_suffix
  ConnectionPool pool;
};

namespace client_detail {

class HttpCall final : public UpstreamCall {
 public:
  HttpCall(asio::any_io_executor executor, std::shared_ptr<HttpClient::State> state,
           const TlsProfile& tls)
      : executor_(std::move(executor)), state_(std::move(state)), tls_(tls) {}
  ~HttpCall() override { drop(); }

  awaitable<Status> start(const UpstreamRequest& request, const Timeouts& timeouts) override;
  int status() const override { return status_; }
  const Headers& headers() const override { return fields_.headers(); }
  Headers take_headers() override { return fields_.take(); }
  awaitable<Result<std::string>> read_some() override;
  bool body_complete() const override { return phase_ == Phase::kDone; }
  awaitable<Result<std::string>> read_all(std::size_t max_bytes) override;
  void cancel() override;

 private:
  enum class Phase { kIdle, kStarting, kBody, kDone, kFailed };
  // Failure of one exchange; `stale` when nothing at all came back on a reused connection.
  struct ExchangeError {
    Error error;
    bool stale = false;
  };

  awaitable<Status> connect();
  // Parses what the read buffer already holds; false (with the call failed) on a framing
  // error.
  bool parse_buffered(Error& error);
  // What the next recv may take: the read buffer's free capacity, at least 512 bytes (Beast's
  // rule, which the buffer sizes here were made for).
  std::size_t receive_room();
  // One recv into the read buffer; the bytes it brought.
  awaitable<std::tuple<error_code, std::size_t>> receive();
  // Reads until the response head is parsed; body bytes behind it stay in the buffer or went
  // to the parser.
  awaitable<error_code> read_head();
  void drain_ready();
  Error too_large(std::size_t max_bytes) const;
  awaitable<std::optional<ExchangeError>> exchange(const OutgoingRequest& req, bool reused);
  void finish_body();
  Error fail(Error error);
  void drop();
  // What an operation under the connection's deadline ended with (beast::error::timeout when
  // the deadline closed it); `keep` leaves the deadline armed for the next operation.
  error_code settle(error_code ec, bool keep = false);
  // The connection's read buffer (valid while the call holds a connection).
  beast::flat_buffer& buffer() { return conn_->read_buffer; }

  asio::any_io_executor executor_;
  std::shared_ptr<HttpClient::State> state_;
  const TlsProfile& tls_;                 // owned by *state_
  std::shared_ptr<const Target> target_;  // set by start()
  // The URL called (an empty one before start()).
  const Url& url() const {
    static const Url kNone;
    return target_ ? target_->url : kNone;
  }
  const std::string& pool_key() const { return target_->pool_key; }
  Timeouts timeouts_;
  Phase phase_ = Phase::kIdle;
  bool cancelled_ = false;
  std::unique_ptr<Connection> conn_;
  std::shared_ptr<PendingResolve> resolve_;
  std::optional<ResponseParser> parser_;
  std::size_t last_read_ = kReadBytes;  // bytes the last recv brought
  // read_all(): what the rest of the body may still add, and the limit named in the error.
  std::optional<std::size_t> body_budget_;
  std::size_t body_max_ = 0;
  int status_ = 0;
  ReceivedFields fields_;         // the response's, as received
  std::optional<Error> failure_;  // what every later read answers once the call has failed
};

}  // namespace client_detail
}  // namespace bc::net
