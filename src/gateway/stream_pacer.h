// Keeps a streamed answer's client waiting on purpose while the upstream is silent: ends the
// hold of the response head (and the role chunk) at its bound (stream.hold_ms), and sends a
// heartbeat (an SSE comment, `: keep-alive`) after stream.heartbeat_ms without a byte to the
// client. A model that thinks for a minute, or an upstream that queues, would otherwise leave
// the client with no byte at all, and many clients and proxies give up after 30-60 s.
//
// The relay reads the upstream and writes the client in turn; the pacer writes only while the
// relay waits on the upstream, and the relay waits for a pacer write in flight before it
// touches the sink again, so the client's socket never has two writers. One Alarm of the
// worker's DeadlineWatch (no Asio timer) wakes it; a stream that flows never spawns anything.
#pragma once

#include <optional>
#include <string_view>
#include <vector>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/steady_timer.hpp>

#include "core/chat.h"
#include "core/clock.h"
#include "gateway/stream_sink.h"
#include "net/deadline.h"

namespace bc::gateway {

using boost::asio::awaitable;

// Whether a chunk carries reasoning text: a non-empty `reasoning_content` (or `reasoning`, as
// some upstreams name it). An empty or null one, as in a reasoner's first chunk, does not.
bool carries_reasoning(std::string_view chunk);
// A chunk that carries nothing but the assistant role: held back until real content (text,
// reasoning, a tool call, the finish or the usage) comes, so an upstream that fails before
// its first content can still be retried invisibly.
bool role_only(const providers::RelayDelta& d);

// Starts the client's stream with the chunks held back so far (role-only chunks); false when
// the sink could not begin. `begun` is set on success.
bool begin_with_held(StreamSink& sink, std::vector<providers::RelayDelta>& held, bool& begun);

class StreamPacer {
 public:
  // `hold_until`: when the head goes out even with no content yet. `heartbeat`: the silence
  // after which a heartbeat goes out, zero for none (and none when the sink has no such
  // thing). `held` and `begun` are the relay's: the pacer may begin the stream itself.
  StreamPacer(const boost::asio::any_io_executor& executor, StreamSink& sink,
              std::vector<providers::RelayDelta>& held, bool& begun, TimePoint hold_until,
              Duration heartbeat);
  StreamPacer(const StreamPacer&) = delete;
  StreamPacer& operator=(const StreamPacer&) = delete;

  // The relay is about to wait on the upstream: the pacer may write until upstream_answered().
  void waiting() {
    waiting_ = true;
    if (!alarm_.armed()) arm();
  }
  // The upstream answered. When this is true the relay must co_await pacer_done() before it
  // uses the sink (rare: only when a hold ended or a heartbeat went out just then).
  bool upstream_answered() {
    waiting_ = false;
    return writing_;
  }
  awaitable<void> pacer_done();
  // The relay wrote to the client at `now`: the silence starts again.
  void sent(TimePoint now) { last_sent_ = now; }
  // A pacer write failed: the client is gone.
  bool client_lost() const { return client_lost_; }
  // Heartbeats sent so far (for the logs and tests of the relay).
  int heartbeats() const { return heartbeats_; }

 private:
  // When the pacer next has something to do; nullopt: nothing (begun and no heartbeats).
  std::optional<TimePoint> next_due() const;
  void arm();
  void due();
  awaitable<void> write();

  boost::asio::any_io_executor executor_;
  StreamSink& sink_;
  std::vector<providers::RelayDelta>& held_;
  bool& begun_;
  TimePoint hold_until_;
  Duration heartbeat_;
  TimePoint last_sent_{};
  net::Alarm alarm_;
  std::optional<boost::asio::steady_timer> done_;  // made only when the relay must wait
  bool waiting_ = false;
  bool writing_ = false;
  bool client_lost_ = false;
  int heartbeats_ = 0;
};

}  // namespace bc::gateway
