#include "gateway/stream_pacer.h"

#include <exception>

#include <spdlog/spdlog.h>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/use_awaitable.hpp>

namespace bc::gateway {

namespace asio = boost::asio;

bool carries_reasoning(std::string_view chunk) {
  for (auto at = chunk.find("\"reasoning"); at != std::string_view::npos;
       at = chunk.find("\"reasoning", at + 1)) {
    const auto colon = chunk.find(':', at);
    if (colon == std::string_view::npos) return false;
    const auto value = chunk.find_first_not_of(" \t\r\n", colon + 1);
    if (value != std::string_view::npos && chunk[value] == '"' && value + 1 < chunk.size() &&
        chunk[value + 1] != '"') {
      return true;
    }
  }
  return false;
}

bool role_only(const providers::RelayDelta& d) {
  if (!d.event.empty()) return d.event_preamble;  // a passed-through event says it itself
  return d.text.empty() && d.finish_reason.empty() && !d.usage &&
         d.chunk().find("tool_calls") == std::string_view::npos && !carries_reasoning(d.chunk());
}

bool begin_with_held(StreamSink& sink, std::vector<providers::RelayDelta>& held, bool& begun) {
  if (!sink.begin()) return false;
  begun = true;
  for (const auto& h : held) sink.add(h);
  held.clear();
  return true;
}

StreamPacer::StreamPacer(const asio::any_io_executor& executor, StreamSink& sink,
                         std::vector<providers::RelayDelta>& held, bool& begun,
                         TimePoint hold_until, Duration heartbeat)
    : executor_(executor),
      sink_(sink),
      held_(held),
      begun_(begun),
      hold_until_(hold_until),
      heartbeat_(sink.takes_heartbeats() ? heartbeat : Duration::zero()),
      alarm_(executor, [this] { due(); }) {}

std::optional<TimePoint> StreamPacer::next_due() const {
  if (!begun_) return hold_until_;
  if (heartbeat_ <= Duration::zero()) return std::nullopt;
  return last_sent_ + heartbeat_;
}

void StreamPacer::arm() {
  if (const auto at = next_due()) alarm_.arm_at(*at, Clock::now());
}

void StreamPacer::due() {
  // Only while the relay waits on the upstream: otherwise it is about to write itself, and
  // its next waiting() arms the alarm again.
  if (!waiting_ || writing_) return;
  const auto at = next_due();
  if (!at) return;
  const auto now = Clock::now();
  if (now < *at) {  // the relay wrote since this was armed
    alarm_.arm_at(*at, now);
    return;
  }
  writing_ = true;
  asio::co_spawn(executor_, write(), [](std::exception_ptr e) {
    if (e) spdlog::error("stream pacer write ended with an exception");
  });
}

awaitable<void> StreamPacer::write() {
  bool ok = true;
  if (!begun_) {
    // The hold is over: the head and what was held go out, and failover with them.
    ok = begin_with_held(sink_, held_, begun_);
  } else {
    sink_.add_heartbeat();
    ++heartbeats_;
  }
  if (ok) ok = static_cast<bool>(co_await sink_.commit());
  if (!ok) client_lost_ = true;  // the relay ends the stream when the upstream next answers
  last_sent_ = Clock::now();
  writing_ = false;
  if (done_) {
    done_->cancel();  // the relay waits in pacer_done()
  } else if (waiting_ && !client_lost_) {
    arm();
  }
}

awaitable<void> StreamPacer::pacer_done() {
  if (!writing_) co_return;
  done_.emplace(executor_, TimePoint::max());
  boost::system::error_code ignored;
  co_await done_->async_wait(asio::redirect_error(asio::use_awaitable, ignored));
  done_.reset();
}

}  // namespace bc::gateway
