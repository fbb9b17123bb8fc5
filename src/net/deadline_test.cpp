#include "net/deadline.h"

#include <gtest/gtest.h>

#include <array>
#include <chrono>
#include <memory>
#include <optional>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/error.hpp>

namespace bc::net {
namespace {

namespace asio = boost::asio;
using boost::system::error_code;
using tcp = asio::ip::tcp;
using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

// Connected pairs on 127.0.0.1: `ours` is what the deadlines watch, `peer` stays silent.
class DeadlineTest : public ::testing::Test {
 protected:
  struct Pair {
    explicit Pair(asio::io_context& io) : ours(io), peer(io) {}
    tcp::socket ours;
    tcp::socket peer;
  };

  std::unique_ptr<Pair> connect() {
    auto pair = std::make_unique<Pair>(io_);
    pair->ours.connect(acceptor_.local_endpoint());
    acceptor_.accept(pair->peer);
    return pair;
  }

  // Starts a one-byte read on `s` that records its outcome and when it came.
  void read(tcp::socket& s, Deadline& d, std::optional<error_code>& outcome,
            Clock::time_point& at) {
    s.async_read_some(asio::buffer(byte_), [&](error_code ec, std::size_t) {
      outcome = d.finish(ec);
      at = Clock::now();
    });
  }

  // Arms `d` for `timeout`, reads one byte from `s` under it and runs the loop for at most
  // `run`: the read's outcome and how long after the arming it came.
  struct ReadResult {
    std::optional<error_code> outcome;
    Clock::duration after{};
  };
  ReadResult read_under(tcp::socket& s, Deadline& d, Clock::duration timeout, Clock::duration run) {
    ReadResult t;
    Clock::time_point at;
    const auto start = Clock::now();
    d.arm(timeout);
    read(s, d, t.outcome, at);
    io_.run_for(run);
    t.after = at - start;
    return t;
  }

  DeadlineWatch& watch() { return asio::use_service<DeadlineWatch>(io_); }

  asio::io_context io_;
  tcp::acceptor acceptor_{io_, {asio::ip::make_address("127.0.0.1"), 0}};
  std::array<char, 1> byte_{};
};

TEST_F(DeadlineTest, APendingReadEndsWithTimeoutAtItsDeadlineAndTheSocketIsClosed) {
  auto p = connect();
  Deadline d(p->ours);
  const auto t = read_under(p->ours, d, 80ms, 2s);
  ASSERT_TRUE(t.outcome.has_value());
  EXPECT_EQ(*t.outcome, boost::beast::error::timeout);
  EXPECT_GE(t.after, 80ms);
  EXPECT_LT(t.after, 80ms + 80ms / 8 + 500ms);  // slack, plus a busy machine's delay
  EXPECT_FALSE(p->ours.is_open());
  EXPECT_FALSE(d.armed());
}

TEST_F(DeadlineTest, AFinishedDeadlineLeavesAnIdleSocketAlone) {
  auto p = connect();
  Deadline d(p->ours);
  d.arm(30ms);
  EXPECT_FALSE(d.finish());  // the operation ended in time
  io_.run_for(150ms);
  EXPECT_TRUE(p->ours.is_open());
  EXPECT_EQ(watch().armed_count(), 0u);
}

TEST_F(DeadlineTest, DataInTimeEndsTheReadNormally) {
  auto p = connect();
  Deadline d(p->ours);
  std::optional<error_code> outcome;
  Clock::time_point at;
  d.arm(5s);
  read(p->ours, d, outcome, at);
  asio::write(p->peer, asio::buffer("x", 1));
  while (!outcome && io_.run_one_for(2s)) {
  }
  ASSERT_TRUE(outcome.has_value());
  EXPECT_FALSE(*outcome);
  EXPECT_TRUE(p->ours.is_open());
}

TEST_F(DeadlineTest, SteadyTrafficDoesNotMoveTheTimerPerOperation) {
  auto p = connect();
  auto q = connect();
  Deadline a(p->ours);
  Deadline b(q->ours);
  const auto before = watch().timer_moves();
  // What a busy connection does: a deadline per read and per write, each later than the last.
  for (int i = 0; i < 1000; ++i) {
    a.arm(30s);
    b.arm(60s);
    a.finish();
    b.arm(30s);
    b.finish();
  }
  EXPECT_LE(watch().timer_moves() - before, 2u);
}

TEST_F(DeadlineTest, AnEarlierDeadlineMovesTheTimer) {
  auto p = connect();
  auto q = connect();
  Deadline slow(p->ours);
  Deadline fast(q->ours);
  slow.arm(60s);
  const auto t = read_under(q->ours, fast, 50ms, 1s);
  ASSERT_TRUE(t.outcome.has_value());
  EXPECT_EQ(*t.outcome, boost::beast::error::timeout);
  EXPECT_LT(t.after, 600ms);
  EXPECT_TRUE(p->ours.is_open());
  EXPECT_TRUE(slow.armed());
}

TEST_F(DeadlineTest, ManyDeadlinesExpireInOrderWhileOthersLeaveTheList) {
  constexpr int kCount = 6;
  std::array<std::unique_ptr<Pair>, kCount> pairs;
  std::array<std::unique_ptr<Deadline>, kCount> deadlines;
  std::array<std::optional<error_code>, kCount> outcomes;
  std::array<Clock::time_point, kCount> ats;
  const auto start = Clock::now();
  for (int i = 0; i < kCount; ++i) {
    pairs[i] = connect();
    deadlines[i] = std::make_unique<Deadline>(pairs[i]->ours);
    deadlines[i]->arm(40ms * (i + 1));
  }
  // Two leave the list before their time: one finished, one destroyed with its socket's user.
  deadlines[1]->finish();
  deadlines[3].reset();
  for (int i : {0, 2, 4, 5}) read(pairs[i]->ours, *deadlines[i], outcomes[i], ats[i]);
  io_.run_for(1500ms);
  for (int i : {0, 2, 4, 5}) {
    ASSERT_TRUE(outcomes[i].has_value()) << i;
    EXPECT_EQ(*outcomes[i], boost::beast::error::timeout) << i;
    EXPECT_GE(ats[i] - start, 40ms * (i + 1)) << i;
  }
  EXPECT_TRUE(pairs[1]->ours.is_open());
  EXPECT_TRUE(pairs[3]->ours.is_open());
  EXPECT_LT(ats[0], ats[2]);
  EXPECT_LT(ats[2], ats[4]);
  EXPECT_EQ(watch().armed_count(), 0u);
}

TEST(Alarm, RunsOnceAtItsTimeUnlessDisarmed) {
  asio::io_context io;
  int rang = 0;
  int disarmed_rang = 0;
  Clock::time_point at;
  Alarm alarm(io.get_executor(), [&] {
    ++rang;
    at = Clock::now();
  });
  Alarm disarmed(io.get_executor(), [&] { ++disarmed_rang; });
  const auto start = Clock::now();
  alarm.arm(60ms);
  disarmed.arm(30ms);
  disarmed.disarm();
  io.run_for(500ms);
  EXPECT_EQ(rang, 1);
  EXPECT_EQ(disarmed_rang, 0);
  EXPECT_GE(at - start, 60ms);
  EXPECT_FALSE(alarm.armed());
}

TEST(Alarm, AnEntryDueInTheSamePassIsSkippedWhenAnEarlierOneDisarmsOrDestroysIt) {
  // Due at one wake of the timer, the first of each pair takes the second off (or destroys
  // it, as an alarm that ends a connection destroys that connection's entries).
  asio::io_context io;
  int second_rang = 0;
  auto second = std::make_unique<Alarm>(io.get_executor(), [&] { ++second_rang; });
  int first_rang = 0;
  std::unique_ptr<Alarm> first;
  first = std::make_unique<Alarm>(io.get_executor(), [&] {
    ++first_rang;
    second.reset();
  });
  auto other_second = std::make_unique<Alarm>(io.get_executor(), [&] { ++second_rang; });
  int other_first_rang = 0;
  Alarm other_first(io.get_executor(), [&] {
    ++other_first_rang;
    other_second->disarm();
  });
  first->arm(20ms);
  second->arm(20ms);
  other_first.arm(20ms);
  other_second->arm(20ms);
  io.run_for(300ms);
  // Due entries run earliest first, and each "second" was armed after its partner: whether
  // it fell due in the same pass or a later one, it never ran.
  EXPECT_EQ(first_rang, 1);
  EXPECT_EQ(other_first_rang, 1);
  EXPECT_EQ(second_rang, 0);
  EXPECT_EQ(asio::use_service<DeadlineWatch>(io).armed_count(), 0u);
}

TEST(Alarm, ReArmedFromAnotherEntrysRunItWaitsForItsNewTime) {
  asio::io_context io;
  int late_rang = 0;
  Clock::time_point late_at;
  Alarm late(io.get_executor(), [&] {
    ++late_rang;
    late_at = Clock::now();
  });
  Alarm pusher(io.get_executor(), [&] { late.arm(100ms); });
  const auto start = Clock::now();
  pusher.arm(20ms);
  late.arm(20ms);
  io.run_for(600ms);
  EXPECT_EQ(late_rang, 1);
  // Armed after the pusher, it runs after it in the same pass (or falls due in a later one):
  // the pusher's re-arm takes it out of the pass, and it rings once, at its new time.
  EXPECT_GE(late_at - start, 100ms);
}

TEST(DeadlineShutdown, DeadlinesHeldByPendingHandlersGoAfterTheWatchShutsDown) {
  // At shutdown the io_context destroys pending handlers, and with them the coroutine frames
  // that hold connections and their deadlines, after every service has shut down: the
  // deadlines must still leave the watch's list cleanly (the sanitizer pass checks the memory).
  auto io = std::make_unique<asio::io_context>();
  // The acceptor goes before the context (an I/O object must not outlive its context).
  std::optional<tcp::acceptor> acceptor(std::in_place, *io,
                                        tcp::endpoint{asio::ip::make_address("127.0.0.1"), 0});
  struct Held {
    explicit Held(asio::io_context& io) : ours(io), peer(io), deadline(ours) {}
    tcp::socket ours;
    tcp::socket peer;
    Deadline deadline;
    char byte = 0;
  };
  auto held = std::make_shared<Held>(*io);
  held->ours.connect(acceptor->local_endpoint());
  acceptor->accept(held->peer);
  held->deadline.arm(10s);
  Held& h = *held;
  h.ours.async_read_some(asio::buffer(&h.byte, 1),
                         [held = std::move(held)](error_code, std::size_t) {
                           ADD_FAILURE() << "never completes: the context is destroyed first";
                         });
  io->run_for(20ms);
  EXPECT_EQ(asio::use_service<DeadlineWatch>(*io).armed_count(), 1u);
  acceptor.reset();
  io.reset();  // must not crash or leak
}

}  // namespace
}  // namespace bc::net
