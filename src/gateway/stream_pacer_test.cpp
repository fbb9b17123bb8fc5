// The stream pacer on a real io_context with short times: the hold ends at its bound, heartbeats
// fill silences, nothing is written while the relay has the sink, and the relay waits for a
// pacer write in flight. Also what counts as content for the hold (role_only).
#include "gateway/stream_pacer.h"

#include <functional>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

namespace bc::gateway {
namespace {

namespace asio = boost::asio;
using std::chrono::milliseconds;

// Records what the pacer does to it; commit() may take `commit_time` (a slow client).
class RecordingSink final : public StreamSink {
 public:
  RecordingSink(asio::io_context& io, bool heartbeats) : io_(io), heartbeats_(heartbeats) {}
  Status begin() override {
    ++begins;
    return {};
  }
  void add(const providers::RelayDelta& delta) override {
    queued += std::string(delta.chunk()) + "|";
  }
  awaitable<Status> flush() override { co_return co_await commit(); }
  awaitable<Status> commit() override {
    ++commits;
    in_commit = true;
    if (commit_time.count() > 0) {
      asio::steady_timer t(io_, commit_time);
      boost::system::error_code ec;
      co_await t.async_wait(asio::redirect_error(asio::use_awaitable, ec));
    }
    in_commit = false;
    sent += queued;
    queued.clear();
    co_return Status{};
  }
  bool takes_heartbeats() const override { return heartbeats_; }
  void add_heartbeat() override { queued += "HB|"; }
  awaitable<Status> end() override { co_return Status{}; }
  awaitable<void> fail(const Error&) override { co_return; }

  int begins = 0;
  int commits = 0;
  bool in_commit = false;
  std::string queued;
  std::string sent;
  milliseconds commit_time{0};

 private:
  asio::io_context& io_;
  bool heartbeats_;
};

providers::RelayDelta chunk(std::string json) {
  providers::RelayDelta d;
  d.chunk_json = std::move(json);
  return d;
}

int count(const std::string& text, const std::string& what) {
  int n = 0;
  for (auto at = text.find(what); at != std::string::npos; at = text.find(what, at + 1)) ++n;
  return n;
}

TEST(StreamPacer, HoldEndsAtItsBoundWithTheHeldChunks) {
  asio::io_context io;
  RecordingSink sink(io, true);
  std::vector<providers::RelayDelta> held{chunk(R"({"role":"assistant"})")};
  bool begun = false;
  StreamPacer pacer(io.get_executor(), sink, held, begun, Clock::now() + milliseconds(30),
                    Duration::zero());
  pacer.waiting();
  io.run_for(milliseconds(120));
  EXPECT_TRUE(begun);
  EXPECT_EQ(sink.begins, 1);
  EXPECT_EQ(sink.commits, 1);
  EXPECT_EQ(sink.sent, R"({"role":"assistant"}|)");
  EXPECT_TRUE(held.empty());
  EXPECT_EQ(pacer.heartbeats(), 0);  // heartbeats off
}

TEST(StreamPacer, HeartbeatsFillASilenceAfterTheHead) {
  asio::io_context io;
  RecordingSink sink(io, true);
  std::vector<providers::RelayDelta> held;
  bool begun = false;
  StreamPacer pacer(io.get_executor(), sink, held, begun, Clock::now(), milliseconds(40));
  pacer.waiting();
  io.run_for(milliseconds(300));
  EXPECT_TRUE(begun);
  // The head at once, then one heartbeat per 40 ms of silence (each at most 5 ms late).
  EXPECT_GE(pacer.heartbeats(), 4);
  EXPECT_LE(pacer.heartbeats(), 8);
  EXPECT_EQ(count(sink.sent, "HB|"), pacer.heartbeats());
}

TEST(StreamPacer, NothingIsWrittenWhileTheRelayHasTheSink) {
  asio::io_context io;
  RecordingSink sink(io, true);
  std::vector<providers::RelayDelta> held;
  bool begun = true;
  StreamPacer pacer(io.get_executor(), sink, held, begun, Clock::now(), milliseconds(20));
  pacer.sent(Clock::now());
  pacer.waiting();
  EXPECT_FALSE(pacer.upstream_answered());  // the upstream answered at once: the relay writes
  io.run_for(milliseconds(150));
  EXPECT_EQ(sink.commits, 0);
  // Back to waiting: the silence is already long, so a heartbeat goes out.
  pacer.waiting();
  io.restart();  // it ran out of work above
  io.run_for(milliseconds(60));
  EXPECT_GE(pacer.heartbeats(), 1);
}

TEST(StreamPacer, RecentWritesOfTheRelayPostponeTheHeartbeat) {
  asio::io_context io;
  RecordingSink sink(io, true);
  std::vector<providers::RelayDelta> held;
  bool begun = true;
  StreamPacer pacer(io.get_executor(), sink, held, begun, Clock::now(), milliseconds(80));
  pacer.sent(Clock::now());
  pacer.waiting();
  // The relay writes every 20 ms: the silence never reaches 80 ms.
  asio::steady_timer tick(io);
  int ticks = 0;
  std::function<void()> again = [&] {
    tick.expires_after(milliseconds(20));
    tick.async_wait([&](boost::system::error_code) {
      EXPECT_FALSE(pacer.upstream_answered());
      pacer.sent(Clock::now());
      pacer.waiting();
      if (++ticks < 12) again();
    });
  };
  again();
  io.run_for(milliseconds(300));
  EXPECT_EQ(ticks, 12);
  EXPECT_EQ(pacer.heartbeats(), 0);
}

TEST(StreamPacer, PlainTextGetsItsHeadButNoHeartbeats) {
  asio::io_context io;
  RecordingSink sink(io, false);
  std::vector<providers::RelayDelta> held;
  bool begun = false;
  StreamPacer pacer(io.get_executor(), sink, held, begun, Clock::now() + milliseconds(10),
                    milliseconds(20));
  pacer.waiting();
  io.run_for(milliseconds(150));
  EXPECT_TRUE(begun);
  EXPECT_EQ(sink.commits, 1);  // the head alone
  EXPECT_EQ(pacer.heartbeats(), 0);
}

TEST(StreamPacer, TheRelayWaitsForAPacerWriteInFlight) {
  asio::io_context io;
  RecordingSink sink(io, true);
  sink.commit_time = milliseconds(60);  // a slow client
  std::vector<providers::RelayDelta> held;
  bool begun = false;
  StreamPacer pacer(io.get_executor(), sink, held, begun, Clock::now() + milliseconds(10),
                    Duration::zero());
  pacer.waiting();
  bool relay_done = false;
  asio::co_spawn(
      io,
      [&]() -> awaitable<void> {
        // The upstream answers while the head is being written.
        asio::steady_timer t(io, milliseconds(40));
        co_await t.async_wait(asio::use_awaitable);
        EXPECT_TRUE(sink.in_commit);
        EXPECT_TRUE(pacer.upstream_answered());
        co_await pacer.pacer_done();
        EXPECT_FALSE(sink.in_commit);  // the sink is the relay's again
        relay_done = true;
      },
      asio::detached);
  io.run_for(milliseconds(200));
  EXPECT_TRUE(relay_done);
  EXPECT_EQ(sink.commits, 1);
}

TEST(StreamPacer, ReasoningToolCallsAndTextAreContentRoleChunksAreNot) {
  EXPECT_TRUE(role_only(chunk(R"({"choices":[{"delta":{"role":"assistant","content":""}}]})")));
  // A reasoner's first chunk: empty or null reasoning is no content yet.
  EXPECT_TRUE(role_only(chunk(R"({"delta":{"role":"assistant","reasoning_content":""}})")));
  EXPECT_TRUE(role_only(chunk(R"({"delta":{"role":"assistant","reasoning_content":null}})")));
  EXPECT_FALSE(role_only(chunk(R"({"delta":{"reasoning_content":"Let me see"}})")));
  EXPECT_FALSE(role_only(chunk(R"({"delta":{"reasoning": "Hmm"}})")));
  EXPECT_FALSE(role_only(chunk(R"({"delta":{"tool_calls":[{"index":0}]}})")));
  auto text = chunk(R"({"delta":{"content":"Hi"}})");
  text.text = "Hi";
  EXPECT_FALSE(role_only(text));
  auto last = chunk(R"({"delta":{},"finish_reason":"stop"})");
  last.finish_reason = "stop";
  EXPECT_FALSE(role_only(last));
}

TEST(StreamPacer, APassedThroughEventSaysItselfWhetherItIsHeld) {
  // An Anthropic upstream's own events (ChatDelta::event): message_start is held, a tool_use
  // block's start (no text, no usage) is content.
  providers::RelayDelta start;
  start.event = "event: message_start\ndata: {\"type\":\"message_start\"}\n\n";
  start.event_preamble = true;
  EXPECT_TRUE(role_only(start));
  providers::RelayDelta tool;
  tool.event = "event: content_block_start\ndata: {\"type\":\"content_block_start\"}\n\n";
  EXPECT_FALSE(role_only(tool));
}

}  // namespace
}  // namespace bc::gateway
