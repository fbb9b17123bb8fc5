#include "net/http_client.h"

#include <algorithm>
#include <array>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <string_view>
#include <tuple>
#include <unordered_map>
#include <utility>

#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>

#include "net/connection_pool.h"
#include "net/response_parser.h"
#include "net/send_now.h"
#include "net/url.h"

namespace bc::net {

using namespace std::string_view_literals;

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace ssl = asio::ssl;
using tcp = asio::ip::tcp;
using boost::system::error_code;

// Every network operation below is awaited with as_tuple(use_awaitable): a failure (refused,
// reset, EOF, timeout, TLS alert, our own cancel()) is an expected outcome that becomes an
// Error value here, never an exception thrown through the gateway's coroutines.
constexpr auto kTuple = asio::as_tuple(asio::use_awaitable);

namespace {

// A TLS client context trusting the system's CAs, `ca_file` and `extra_ca` (either may be
// empty). Throws boost::system::system_error when a file does not load.
std::unique_ptr<ssl::context> make_tls_context(bool verify, const std::string& ca_file,
                                               const std::string& extra_ca) {
  auto context = std::make_unique<ssl::context>(ssl::context::tls_client);
  context->set_default_verify_paths();
  if (!ca_file.empty()) context->load_verify_file(ca_file);
  if (!extra_ca.empty()) context->load_verify_file(extra_ca);
  context->set_verify_mode(verify ? ssl::verify_peer : ssl::verify_none);
  return context;
}

// An upstream URL as parsed, with the pool key of its connections under one TlsProfile.
struct Target {
  Url url;
  std::string pool_key;     // the origin, plus the TLS profile's suffix for https://
  std::string host_header;  // url.host_header(), made once rather than for every request
};

// Transparent hashing, so a URL's text finds its Target without a copy.
struct TextHash {
  using is_transparent = void;
  std::size_t operator()(std::string_view text) const {
    return std::hash<std::string_view>{}(text);
  }
};

// What a call under one TlsPolicy uses: its context and the suffix of its pool key.
struct TlsProfile {
  // Made on the first https call: loading the system's CA bundle costs tens of milliseconds
  // per worker, a cost a gateway with only http upstreams (or none yet called) need not pay
  // at start-up. Touched only on the owning worker's thread.
  ssl::context& get() const {
    if (!context) context = make_tls_context(verify, ca_file, extra_ca);
    return *context;
  }
  mutable std::unique_ptr<ssl::context> context;  // null until needed, or when `error` is set
  std::string ca_file;
  std::string extra_ca;
  bool verify = true;
  // Appended to the origin to key the pool: connections made under another policy (say,
  // without verification) are never handed to this one.
  std::string pool_suffix;
  std::optional<Error> error;  // the policy's CA file could not be loaded

  // The URLs called under this profile, parsed once: a model's URL is the same on every
  // call, and parsing it (the host lower-cased, the port, the target, the origin) cost some
  // 1,300 instructions and three allocations a call. Shared with the calls that use them, so
  // clearing a full cache leaves a call in flight its own.
  Result<std::shared_ptr<const Target>> target(std::string_view text) const {
    if (const auto it = targets.find(text); it != targets.end()) return it->second;
    auto url = parse_url(text);
    if (!url) return std::move(url).error();
    auto made = std::make_shared<Target>();
    made->url = std::move(url).value();
    made->pool_key = made->url.tls ? made->url.origin() + pool_suffix : made->url.origin();
    made->host_header = made->url.host_header();
    if (targets.size() >= kMaxTargets) targets.clear();  // URLs with a key in them, say
    targets.emplace(std::string(text), made);
    return std::shared_ptr<const Target>(std::move(made));
  }
  static constexpr std::size_t kMaxTargets = 1024;
  mutable std::unordered_map<std::string, std::shared_ptr<const Target>, TextHash, std::equal_to<>>
      targets;
};

}  // namespace

struct HttpClient::State {
  explicit State(HttpClientOptions o)
      : options(std::move(o)), pool(options.max_idle_per_origin, options.idle_ttl) {
    base.ca_file = options.ca_file;
    base.verify = options.verify_peer;
  }

  // The profile for `tls`, made on first use; the default policy is `base`.
  const TlsProfile& profile(const TlsPolicy& tls) {
    const bool verify = options.verify_peer && tls.verify;
    if (verify == base.verify && (!verify || tls.ca_file.empty())) return base;
    std::string key = verify ? "#ca=" + tls.ca_file : std::string("#noverify");
    auto& slot = profiles[key];
    if (!slot) {
      slot = std::make_unique<TlsProfile>();
      slot->verify = verify;
      slot->pool_suffix = std::move(key);
      try {
        slot->context = make_tls_context(verify, options.ca_file, verify ? tls.ca_file : "");
      } catch (const boost::system::system_error& e) {
        slot->error = Error::internal(
            "cannot load the CA file '" + tls.ca_file + "': " + e.code().message(), "tls_ca_file");
      }
    }
    return *slot;
  }

  HttpClientOptions options;
  TlsProfile base;
  std::map<std::string, std::unique_ptr<TlsProfile>> profiles;  // by pool_suffix
  ConnectionPool pool;
};

namespace {

// The read buffer of one call: one recv takes a whole ordinary answer (head and a ~1 KB body)
// or a good part of a burst of stream events. It is the only buffer an open stream holds.
constexpr std::size_t kReadBytes = 4096;
constexpr std::size_t kSmallRead = 512;  // Beast's own smallest read
// Interim (1xx) answers skipped before a response; more is a broken upstream.
constexpr int kMaxInterimAnswers = 8;

std::string in_ms(std::chrono::milliseconds d) {
  return std::to_string(d.count()) + " ms";
}

Error cancelled_error(const Url& url) {
  return Error::upstream("call to " + url.authority() + " was cancelled", "cancelled");
}

Error retryable(Error e) {
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

// The request as sent: its head written by hand into one string (Beast's serializer walks a
// chain of buffer views on every write, a measurable share of a request's CPU), and the
// caller's body in place, without a copy.
struct OutgoingRequest {
  std::string head;
  std::string_view body;
  bool is_head = false;  // a HEAD request: the response has no body whatever it declares
  bool stream = false;   // the answer is a stream (UpstreamRequest::stream)
};

// A name that may be a caller's copy of a framing or connection header, which are ours to set.
bool is_framing_header(std::string_view name) {
  return beast::iequals(name, "host") || beast::iequals(name, "content-length") ||
         beast::iequals(name, "transfer-encoding") || beast::iequals(name, "connection");
}

// Whether `text` holds a CR or an LF. (Two memchr scans: find_first_of of a set tests the set
// once per byte, which made checking a key's header a thousand instructions.)
bool has_line_break(std::string_view text) {
  return text.find('\r') != std::string_view::npos || text.find('\n') != std::string_view::npos;
}

// Whether `text` holds a byte of a header name or method that would break the request line or
// a header line.
bool has_separator(std::string_view text, bool colon) {
  return std::any_of(text.begin(), text.end(), [colon](char c) {
    return c == '\r' || c == '\n' || c == ' ' || c == '\t' || (colon && c == ':');
  });
}

// The caller's method, headers and body, our framing headers.
Status build_request(const UpstreamRequest& request, const Target& target,
                     const HttpClientOptions& options, OutgoingRequest& req) {
  const Url& url = target.url;
  if (request.method.empty() || has_separator(request.method, false)) {
    return Error::internal("upstream request method is malformed", "invalid_upstream_request");
  }
  std::string& h = req.head;
  h.reserve(256 + request.headers.size() * 64);
  h.append(request.method).append(" "sv).append(url.target).append(" HTTP/1.1\r\nHost: "sv);
  h.append(target.host_header).append("\r\n"sv);
  bool has_user_agent = false;
  for (const auto& header : request.headers) {
    // A line break would let a value (say, a key pasted with a newline) forge more headers.
    // The error names the header only: its value may be the key.
    if (has_line_break(header.value) || header.name.empty() || has_separator(header.name, true)) {
      return Error::internal("upstream request header '" +
                                 header.name.substr(0, header.name.find_first_of("\r\n")) +
                                 "' is malformed",
                             "invalid_upstream_request");
    }
    if (is_framing_header(header.name)) continue;
    has_user_agent = has_user_agent || beast::iequals(header.name, "user-agent");
    h.append(header.name).append(": "sv).append(header.value).append("\r\n"sv);
  }
  if (!has_user_agent) h.append("User-Agent: "sv).append(options.user_agent).append("\r\n"sv);
  h.append("Connection: keep-alive\r\n"sv);
  const bool sends_body = !request.body.empty() || request.method == "POST" ||
                          request.method == "PUT" || request.method == "PATCH";
  if (sends_body) h.append("Content-Length: "sv).append(std::to_string(request.body.size()));
  if (sends_body) h.append("\r\n"sv);
  h.append("\r\n"sv);
  req.body = request.body;
  req.is_head = request.method == "HEAD";
  req.stream = request.stream;
  return {};
}

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

void HttpCall::cancel() {
  if (cancelled_) return;
  cancelled_ = true;
  if (resolve_) resolve_->wake.cancel();
  // Closing the socket (not destroying the stream: an operation may be pending on it) makes a
  // pending read, write, connect or handshake complete now with operation_aborted, and the
  // upstream sees the connection close. The coroutine that owns the call drops it.
  if (conn_) conn_->close();
}

error_code HttpCall::settle(error_code ec, bool keep) {
  if (!conn_) return ec;
  return keep ? conn_->deadline().check(ec) : conn_->deadline().finish(ec);
}

void HttpCall::drop() {
  if (!conn_) return;
  conn_->close();
  conn_.reset();
}

Error HttpCall::fail(Error error) {
  phase_ = Phase::kFailed;
  drop();
  failure_ = error;
  return error;
}

awaitable<Status> HttpCall::start(const UpstreamRequest& request, const Timeouts& timeouts) {
  if (phase_ != Phase::kIdle) co_return Error::internal("UpstreamCall::start() called twice");
  auto target = tls_.target(request.url);
  if (!target) co_return fail(std::move(target).error());
  target_ = std::move(target).value();
  timeouts_ = timeouts;
  if (url().tls && tls_.error) co_return fail(*tls_.error);
  if (cancelled_) co_return fail(cancelled_error(url()));
  OutgoingRequest req;
  if (auto built = build_request(request, *target_, state_->options, req); !built) {
    co_return fail(std::move(built).error());
  }
  phase_ = Phase::kStarting;

  // A pooled connection may have been closed by the server while idle; if the request then
  // gets no byte back at all, it is sent once more on a fresh connection.
  bool may_reuse = true;
  for (;;) {
    bool reused = false;
    if (may_reuse) {
      while (auto pooled = state_->pool.take(pool_key(), Clock::now())) {
        // Every reuse is probed, however short the idle time: bytes that reached an idle
        // connection (an extra response an upstream or a middlebox sent after the last
        // body, say) would be read as the answer to this request, and every later answer on
        // the connection would be one behind: one client would get another's. A connection
        // that received anything while idle, or was closed, is closed here, never used.
        if (pooled->looks_alive()) {
          conn_ = std::move(pooled);
          reused = true;
          break;
        }
      }
    }
    if (!reused) {
      if (auto connected = co_await connect(); !connected)
        co_return fail(std::move(connected).error());
    }
    auto failure = co_await exchange(req, reused);
    if (!failure) break;
    if (reused && failure->stale && !cancelled_) {
      drop();
      may_reuse = false;
      continue;
    }
    co_return fail(std::move(failure->error));
  }

  status_ = parser_->status();
  fields_ = std::move(parser_->fields());
  phase_ = Phase::kBody;
  if (parser_->is_done()) finish_body();  // no body: 204, 304, HEAD, Content-Length: 0
  co_return Status{};
}

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
    ssl::context* context = nullptr;
    try {
      context = &tls_.get();
    } catch (const boost::system::system_error& e) {
      // Checked at start-up and on reload; the file may have gone since.
      co_return Error::internal(
          "cannot load the CA file '" + tls_.ca_file + "': " + e.code().message(), "tls_ca_file");
    }
    conn_ = std::make_unique<Connection>(
        pool_key(), std::make_unique<Connection::TlsStream>(executor_, *context));
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

awaitable<std::optional<HttpCall::ExchangeError>> HttpCall::exchange(const OutgoingRequest& req,
                                                                     bool reused) {
  // Named in error messages only: made when one is.
  const auto authority = [this] { return url().authority(); };
  auto first_byte_timeout = [&] {
    return ExchangeError{
        retryable(Error::timeout("first_byte timeout (" + in_ms(timeouts_.first_byte) +
                                     ") waiting for the response from " + authority(),
                                 "first_byte_timeout"))};
  };

  // Messages below name the origin and the socket error only: never the request's headers,
  // which carry the key.
  conn_->deadline().arm(timeouts_.first_byte);
  std::array<asio::const_buffer, 2> pieces{asio::buffer(req.head), asio::buffer(req.body)};
  std::span<asio::const_buffer> unsent(pieces);
  error_code raw_write_ec;
  if (!conn_->is_tls()) {
    // What the socket takes now is sent now (net/send_now.h): usually the whole request.
    unsent = drop_sent(unsent, send_now(conn_->tcp(), unsent, raw_write_ec));
  }
  if (!raw_write_ec && !unsent.empty()) {
    auto [ec, written] =
        co_await conn_->visit([&](auto& s) { return asio::async_write(s, unsent, kTuple); });
    raw_write_ec = ec;
  }
  const auto write_ec = settle(raw_write_ec);
  if (cancelled_) co_return ExchangeError{cancelled_error(url())};
  if (write_ec == beast::error::timeout) co_return first_byte_timeout();
  if (write_ec) {
    co_return ExchangeError{retryable(Error::upstream("cannot send the request to " + authority() +
                                                          ": " + write_ec.message(),
                                                      "upstream_io")),
                            reused};
  }

  buffer().clear();
  // Beast reads max(512, free capacity) bytes per recv. A model may think for seconds before
  // its first byte: a stream waits for it on the smallest buffer (a thousand waiting streams
  // would otherwise hold 4 MB), and grows it once a read fills it; an ordinary answer is read
  // whole, head and body, by one 4 KiB recv.
  if (req.stream) buffer().shrink_to_fit();  // a pooled connection's may have grown
  buffer().reserve(req.stream ? kSmallRead : kReadBytes);
  conn_->deadline().arm(timeouts_.first_byte);
  error_code read_ec;
  for (int interim = 0;; ++interim) {
    parser_.emplace();
    parser_->header_limit(static_cast<std::uint32_t>(state_->options.max_header_bytes));
    if (req.is_head) parser_->skip(true);
    read_ec = settle(co_await read_head(), /*keep=*/true);
    // An interim answer (100 Continue, 103 Early Hints) is not the response: the real one
    // follows on the same connection, and taking the interim one for it would leave the real
    // answer to be read by the next call on this connection. (101 is never asked for.)
    const int status = parser_->status();
    if (read_ec || cancelled_ || status < 100 || status >= 200 || status == 101 ||
        interim >= kMaxInterimAnswers) {
      break;
    }
  }
  if (conn_) conn_->deadline().disarm();
  if (cancelled_) co_return ExchangeError{cancelled_error(url())};
  // A stream waits for its first event on the smallest buffer too (its next reads grow it if
  // they fill it); an ordinary answer's rest is read 4 KiB at a time.
  last_read_ = req.stream ? 0 : kReadBytes;
  if (!read_ec) {
    // A stream's head was read on a small buffer: what came right behind it (a burst of
    // events) is taken now, so that it leaves in one piece.
    if (req.stream && !parser_->is_done()) drain_ready();
    co_return std::nullopt;
  }
  if (read_ec == beast::error::timeout) co_return first_byte_timeout();
  if (read_ec == http::error::header_limit) {
    co_return ExchangeError{Error::upstream("response head from " + authority() + " exceeds " +
                                                std::to_string(state_->options.max_header_bytes) +
                                                " bytes",
                                            "bad_response")};
  }
  if (read_ec.category() == http::make_error_code(http::error::bad_target).category() &&
      read_ec != http::error::end_of_stream && read_ec != http::error::partial_message) {
    co_return ExchangeError{Error::upstream(
        "malformed response from " + authority() + ": " + read_ec.message(), "bad_response")};
  }
  const bool nothing_back = !parser_->got_some() && buffer().size() == 0;
  co_return ExchangeError{
      retryable(Error::upstream(
          "connection to " + authority() + " failed before the response head: " + read_ec.message(),
          "upstream_io")),
      reused && nothing_back};
}

std::size_t HttpCall::receive_room() {
  return std::max(kSmallRead, buffer().capacity() - buffer().size());
}

awaitable<std::tuple<error_code, std::size_t>> HttpCall::receive() {
  auto [ec, n] = co_await conn_->visit(
      [&](auto& s) { return s.async_read_some(buffer().prepare(receive_room()), kTuple); });
  // The call may have been cancelled meanwhile, and the connection dropped with it.
  if (conn_) buffer().commit(n);
  co_return std::tuple{ec, n};
}

awaitable<error_code> HttpCall::read_head() {
  for (;;) {
    if (buffer().size() > 0) {
      error_code ec;
      buffer().consume(parser_->put(buffer().data(), ec));
      if (ec != http::error::need_more) co_return ec;  // the head is whole (or malformed)
    }
    auto [ec, n] = co_await receive();
    if (ec == asio::error::eof) {
      co_return parser_->got_some() ? http::error::partial_message : http::error::end_of_stream;
    }
    if (ec) co_return ec;
  }
}

bool HttpCall::parse_buffered(Error& error) {
  if (!conn_) return true;
  while (buffer().size() > 0 && !parser_->is_done()) {
    error_code ec;
    const std::size_t used = parser_->put(buffer().data(), ec);
    buffer().consume(used);
    if (ec == http::error::need_more) return true;
    if (ec) {
      error = fail(retryable(
          Error::upstream("malformed response body from " + url().authority() + ": " + ec.message(),
                          "upstream_io")));
      return false;
    }
    if (used == 0) return true;
  }
  return true;
}

void HttpCall::drain_ready() {
  // After a recv that filled the buffer, or a stream's head: an upstream that sent a burst (a
  // whole short answer, a run of events) may have more bytes waiting. Taking them now, without
  // waiting, makes the burst one piece (one write to the client) instead of one per recv. The
  // kernel says how many are there, so nothing is allocated for a stream that has none yet.
  // Plain connections only: over TLS, bytes may wait inside OpenSSL, unseen by the socket.
  if (conn_->is_tls()) return;
  auto& socket = conn_->tcp();
  while (!parser_->is_done()) {
    error_code ec;
    const std::size_t waiting = socket.available(ec);
    if (ec || waiting == 0) return;
    buffer().reserve(buffer().size() + waiting);
    const std::size_t n = socket.read_some(buffer().prepare(waiting), ec);  // does not block
    if (ec) return;  // the next read reports it
    buffer().commit(n);
    last_read_ = n;
    Error ignored;  // a malformed body fails the call here; the next read_some reports it
    if (!parse_buffered(ignored)) return;
  }
}

awaitable<Result<std::string>> HttpCall::read_some() {
  if (cancelled_) co_return fail(cancelled_error(url()));
  // A body that ended while it was read ahead (drain_ready) is still handed out, then "".
  if (phase_ == Phase::kDone) co_return parser_ ? parser_->take_body() : std::string{};
  if (failure_) co_return *failure_;
  if (phase_ != Phase::kBody) {
    co_return Error::internal("UpstreamCall::read_some() without a successful start()");
  }
  // Body bytes that arrived with the head, or with the previous piece, come first.
  Error error;
  if (!parse_buffered(error)) co_return error;
  while (!parser_->has_body() && !parser_->is_done()) {
    if (buffer().size() == 0) {
      // A paced stream sends one small event at a time: after a read that did not fill even
      // Beast's smallest (512 bytes) the buffer is given back and the next read takes 512
      // bytes, so a quiet open stream does not hold 4 KiB; after a fuller one the next read
      // gets the full size again, so a large body is not read 512 bytes at a time.
      if (last_read_ < kSmallRead) {
        buffer().shrink_to_fit();
      } else {
        buffer().reserve(kReadBytes);
      }
    }
    const bool cut_by_deadline = timeouts_.deadline - Clock::now() <= timeouts_.idle;
    conn_->deadline().arm_at(cut_by_deadline ? timeouts_.deadline : Clock::now() + timeouts_.idle);
    // A recv that fills what it may take suggests the upstream sent more at once.
    const std::size_t room = receive_room();
    auto [raw_ec, n] = co_await receive();
    auto ec = settle(raw_ec);
    if (cancelled_) co_return fail(cancelled_error(url()));
    // The connection's close ends a body delimited by it, and cuts any other short. Over TLS
    // such a body may end without close_notify: that truncation is its normal end too.
    if (ec == asio::error::eof || (ec == ssl::error::stream_truncated && parser_->need_eof())) {
      parser_->put_eof(ec);
    }
    if (conn_) last_read_ = n;
    if (ec == beast::error::timeout && cut_by_deadline) {
      // The request's time is up, not the upstream's pause: not a fault of the key.
      auto late = Error::timeout(
          "the request's deadline passed while reading the body from " + url().authority(),
          "deadline_exceeded");
      late.retryable = false;
      co_return fail(std::move(late));
    }
    if (ec == beast::error::timeout) {
      co_return fail(retryable(Error::timeout(
          "idle timeout (" + in_ms(timeouts_.idle) + ") reading the body from " + url().authority(),
          "idle_timeout")));
    }
    if (ec) {
      co_return fail(retryable(
          Error::upstream("connection to " + url().authority() + " broke mid-body: " + ec.message(),
                          "upstream_io")));
    }
    // All that recv brought is parsed now, so one recv gives one piece however many chunks
    // it held.
    if (!parse_buffered(error)) co_return error;
    if (conn_ && last_read_ == room) drain_ready();
  }
  if (body_budget_ && parser_->body_bytes() > *body_budget_) {
    // Checked before finish_body(): an answer refused for its size is not a clean exchange.
    co_return fail(too_large(body_max_));
  }
  if (parser_->is_done()) finish_body();
  std::string piece = parser_->take_body();  // empty only when the body is complete
  if (body_budget_) *body_budget_ -= piece.size();
  co_return piece;
}

Error HttpCall::too_large(std::size_t max_bytes) const {
  return Error::upstream("response body from " + url().authority() + " exceeds " +
                             std::to_string(max_bytes) + " bytes",
                         "response_too_large");
}

awaitable<Result<std::string>> HttpCall::read_all(std::size_t max_bytes) {
  if (phase_ == Phase::kBody && !cancelled_) {
    if (const auto length = parser_->content_length()) {
      if (*length > max_bytes) {
        co_return fail(Error::upstream("response body from " + url().authority() + " (" +
                                           std::to_string(*length) + " bytes) exceeds " +
                                           std::to_string(max_bytes) + " bytes",
                                       "response_too_large"));
      }
    }
  }
  body_max_ = max_bytes;
  body_budget_ = max_bytes;
  std::string all;
  for (;;) {
    auto piece = co_await read_some();
    if (!piece) co_return std::move(piece).error();
    if (piece->empty()) co_return all;
    if (all.empty()) {
      all = std::move(*piece);  // most answers arrive in one piece: no copy
    } else {
      all += *piece;
    }
  }
}

void HttpCall::finish_body() {
  phase_ = Phase::kDone;
  // A connection is reused only when its answer ended exactly at the end of what was
  // received: a byte beyond it, in the read buffer or inside TLS, would be a reply to nothing
  // and be read as the answer to the next request on it. (Bytes still in the kernel are found
  // by the probe before any reuse.) Nor is one reused that the server (or HTTP/1.0, or a
  // close-delimited body) wants closed.
  if (conn_ && parser_->keep_alive() && buffer().size() == 0 && !conn_->tls_holds_bytes() &&
      !cancelled_ && status_ >= 200) {
    state_->pool.put(std::move(conn_), Clock::now());
  } else {
    drop();
  }
}

}  // namespace

HttpClient::HttpClient(asio::any_io_executor executor, HttpClientOptions options)
    : executor_(std::move(executor)), state_(std::make_shared<State>(std::move(options))) {}

HttpClient::~HttpClient() = default;

std::unique_ptr<UpstreamCall> HttpClient::call(const TlsPolicy& tls) {
  return std::make_unique<HttpCall>(executor_, state_, state_->profile(tls));
}

std::size_t HttpClient::idle_connections() const {
  return state_->pool.idle_count();
}

Status check_ca_file(const std::string& ca_file) {
  ssl::context context(ssl::context::tls_client);
  error_code ec;
  context.load_verify_file(ca_file, ec);
  if (ec) {
    return Error::internal("cannot load the CA file '" + ca_file + "': " + ec.message(),
                           "tls_ca_file");
  }
  return {};
}

}  // namespace bc::net
