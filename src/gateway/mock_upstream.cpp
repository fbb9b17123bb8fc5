#include "gateway/mock_upstream.h"

#include <atomic>
#include <chrono>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/json.hpp>

#include "providers/mock_answer.h"

namespace bc::gateway {

namespace asio = boost::asio;
using boost::asio::awaitable;

namespace {

constexpr auto kTuple = asio::as_tuple(asio::use_awaitable);

Error cancelled() {
  return Error::upstream("mock upstream call cancelled", "cancelled");
}

std::string next_id() {
  static std::atomic<std::uint64_t> counter{0};
  return "chatcmpl-mock" + std::to_string(counter.fetch_add(1, std::memory_order_relaxed) + 1);
}

class MockCall final : public net::UpstreamCall {
 public:
  explicit MockCall(asio::any_io_executor executor) : timer_(executor) {}

  awaitable<Status> start(const UpstreamRequest& request, const net::Timeouts&) override {
    if (cancelled_) co_return cancelled();
    constexpr std::string_view kScheme = "mock://";
    const std::string_view url = request.url;
    if (url.substr(0, kScheme.size()) != kScheme) {
      co_return Error::internal("mock upstream got a non-mock URL");
    }
    options_ = providers::mock_options_of(request);

    boost::json::error_code ec;
    auto body = boost::json::parse(request.body, ec);
    if (ec || !body.is_object()) {
      status_ = 400;
      pending_ = Error::invalid_request("mock upstream: body is not a JSON object").to_json();
      co_return Status{};
    }
    const auto& obj = body.as_object();
    std::string model;
    if (const auto* m = obj.if_contains("model"); m != nullptr && m->is_string()) {
      model = std::string(m->as_string());
    }
    if (obj.contains("input")) {
      // An embeddings call: the vectors at once, after the latency.
      auto embeddings = providers::mock_embeddings_json(obj, model);
      status_ = embeddings ? 200 : 400;
      pending_ = embeddings ? std::move(embeddings).value() : embeddings.error().to_json();
      headers_.push_back({"Content-Type", "application/json"});
      if (!co_await sleep(std::chrono::milliseconds(options_.latency_ms))) co_return cancelled();
      co_return Status{};
    }
    const auto created = std::chrono::duration_cast<std::chrono::seconds>(
                             std::chrono::system_clock::now().time_since_epoch())
                             .count();
    auto answer = providers::make_mock_answer(obj, options_, model, next_id(), created);
    headers_.push_back({"Content-Type", request.stream ? "text/event-stream" : "application/json"});
    status_ = 200;
    if (request.stream) {
      events_ = providers::mock_sse_events(answer);
    } else {
      pending_ = providers::mock_completion_json(answer);
      // A non-streamed answer arrives once the whole answer has been "generated".
      body_delay_ = piece_gap() * static_cast<long>(answer.pieces.size());
    }
    const bool slept = co_await sleep(std::chrono::milliseconds(options_.latency_ms));
    if (!slept) co_return cancelled();
    co_return Status{};
  }

  int status() const override { return status_; }
  const Headers& headers() const override { return headers_; }
  Headers take_headers() override { return std::move(headers_); }

  awaitable<Result<std::string>> read_some() override {
    if (cancelled_) co_return cancelled();
    if (!pending_.empty()) {
      const bool slept = co_await sleep(body_delay_);
      if (!slept) co_return cancelled();
      std::string body = std::move(pending_);
      pending_.clear();
      co_return body;
    }
    if (next_event_ >= events_.size()) co_return std::string();
    // The first event (the role chunk) goes out with the head; each later one a token apart,
    // but for [DONE], which follows the usage chunk at once.
    if (next_event_ > 0 && next_event_ + 1 < events_.size()) {
      const bool slept = co_await sleep(piece_gap());
      if (!slept) co_return cancelled();
    }
    std::string event = std::move(events_[next_event_]);
    ++next_event_;
    co_return event;
  }

  bool body_complete() const override { return pending_.empty() && next_event_ >= events_.size(); }

  awaitable<Result<std::string>> read_all(std::size_t max_bytes) override {
    std::string all;
    for (;;) {
      auto piece = co_await read_some();
      if (!piece) co_return std::move(piece).error();
      if (piece->empty()) break;
      all += *piece;
      if (all.size() > max_bytes) co_return Error::upstream("mock answer too large");
    }
    co_return all;
  }

  void cancel() override {
    cancelled_ = true;
    timer_.cancel();
  }

 private:
  std::chrono::milliseconds piece_gap() const {
    const double tps = options_.tokens_per_second > 0 ? options_.tokens_per_second : 1000;
    return std::chrono::milliseconds(static_cast<long>(1000.0 / tps));
  }

  // False when cancelled while sleeping.
  awaitable<bool> sleep(std::chrono::milliseconds d) {
    if (d.count() <= 0) co_return !cancelled_;
    timer_.expires_after(d);
    auto [ec] = co_await timer_.async_wait(kTuple);
    co_return !ec && !cancelled_;
  }

  asio::steady_timer timer_;
  providers::MockOptions options_;
  int status_ = 0;
  Headers headers_;
  std::string pending_;  // the non-stream body, or an error body
  std::chrono::milliseconds body_delay_{0};
  std::vector<std::string> events_;
  std::size_t next_event_ = 0;
  bool cancelled_ = false;
};

}  // namespace

MockUpstream::MockUpstream(asio::any_io_executor executor) : executor_(std::move(executor)) {}

std::unique_ptr<net::UpstreamCall> MockUpstream::call(const net::TlsPolicy&) {
  return std::make_unique<MockCall>(executor_);
}

}  // namespace bc::gateway
