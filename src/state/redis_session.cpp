// The keeper of one worker's Redis connection (state/redis_session.h).
#include "state/redis_session.h"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <vector>

#include "state/admission_script.h"

namespace bc::state {

namespace asio = boost::asio;

RedisSession::RedisSession(asio::any_io_executor executor, RedisSessionOptions options,
                           OnChange on_change)
    : executor_(std::move(executor)),
      options_(std::move(options)),
      on_change_(std::move(on_change)),
      timer_(executor_),
      random_(static_cast<std::uint_fast32_t>(std::hash<std::string>{}(options_.instance_id))) {}

void RedisSession::start() {
  asio::co_spawn(
      executor_, [self = shared_from_this()] { return self->keep(); },
      [](std::exception_ptr) { /* keep() catches nothing it can throw */ });
}

void RedisSession::stop() {
  stopped_ = true;
  timer_.cancel();
  link_.reset();
  up_ = false;
}

void RedisSession::set_up(bool up, const std::string& why) {
  if (announced_ && up == up_) return;
  up_ = up;
  announced_ = true;
  if (on_change_) on_change_(up, why);
}

asio::awaitable<void> RedisSession::sleep(std::chrono::milliseconds d) {
  timer_.expires_after(d);
  (void)co_await timer_.async_wait(asio::as_tuple(asio::use_awaitable));
}

asio::awaitable<Status> RedisSession::beat() {
  const std::string ttl_ms = std::to_string(options_.heartbeat_ttl.count() * 10);
  std::vector<std::string> command{"EVAL",          std::string(kHeartbeatScript), "1",
                                   instances_key(), options_.instance_id,          ttl_ms};
  auto answer = co_await link_->command(std::move(command));
  if (!answer) co_return std::move(answer).error();
  const RedisReply& r = *answer;
  if (r.type != RedisReply::Type::kArray || r.elements.empty()) {
    std::string what = r.is_error() ? r.text : std::string("an unexpected answer");
    co_return Error::unavailable("Redis heartbeat: " + what, "state_unavailable");
  }
  const long long now_ms = r.elements[0].integer;
  std::vector<Heartbeat> beats;
  for (std::size_t i = 1; i + 1 < r.elements.size(); i += 2) {
    beats.push_back({r.elements[i].text, std::atoll(r.elements[i + 1].text.c_str())});
  }
  live_ = live_view(beats, options_.instance_id, now_ms, options_.heartbeat_ttl.count());
  co_return Status{};
}

asio::awaitable<void> RedisSession::keep() {
  int failures = 0;
  std::uniform_real_distribution<double> unit(0.0, 1.0);
  while (!stopped_) {
    auto connected = co_await RedisLink::connect(executor_, options_.endpoint, options_.timeout);
    if (stopped_) co_return;
    std::string why;
    if (connected) {
      link_ = std::move(connected).value();
      failures = 0;
      // Up once the first heartbeat is in: the link works and the live count is known.
      while (!stopped_) {
        auto beaten = co_await beat();
        if (stopped_) co_return;
        if (!beaten) {
          why = beaten.error().message;
          break;
        }
        set_up(true, {});
        co_await sleep(options_.heartbeat_every);
      }
      link_.reset();
    } else {
      why = connected.error().message;
    }
    if (stopped_) co_return;
    set_up(false, why);
    ++failures;
    const auto delay =
        reconnect_delay(failures, options_.backoff_base, options_.backoff_max, unit(random_));
    co_await sleep(delay);
  }
}

}  // namespace bc::state
