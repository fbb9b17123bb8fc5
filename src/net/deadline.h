// Timeouts of socket operations, and other timed events of a connection, without an Asio
// timer each.
//
// Beast's tcp_stream arms a timer around every read and write and cancels it when the
// operation ends: a timer-queue insert and removal under the reactor's lock, a completion
// handler run with operation_aborted, and often a timerfd_settime system call. On a proxied
// request that was about 4,000 instructions and one system call (callgrind and strace on
// bench/load). Here an event's time is stored in its entry (a Deadline, an Alarm); one timer
// per io_context (DeadlineWatch) wakes at the earliest and runs what is due. Setting a later
// time only stores it; an earlier one moves the timer only when the timer would otherwise be
// more than an eighth of the wait late.
//
// Each io_context here is run by one thread (the server's workers, a test's loop), and an
// entry is used only on it: no locks.
#pragma once

#include <algorithm>
#include <chrono>
#include <cstddef>
#include <functional>
#include <optional>
#include <vector>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/execution_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/system/error_code.hpp>

namespace bc::net {

class DeadlineWatch;

// An entry of the watch: a time, and what happens at it (due()).
class Timed {
 public:
  using Clock = std::chrono::steady_clock;

  Timed(const Timed&) = delete;
  Timed& operator=(const Timed&) = delete;

  bool armed() const { return slot_ != kNoSlot; }
  // Takes the entry off the watch; nothing happens at its time.
  void disarm();

 protected:
  explicit Timed(const boost::asio::any_io_executor& executor);
  ~Timed();
  // due() runs at `at`, at most `slack` later, unless disarm() comes first.
  void arm_at(Clock::time_point at, Clock::duration slack);
  // Runs on the io_context's thread, after the entry left the watch.
  virtual void due() = 0;

 private:
  friend class DeadlineWatch;
  static constexpr std::size_t kNoSlot = static_cast<std::size_t>(-1);

  DeadlineWatch& watch_;
  Clock::time_point at_{};
  std::size_t slot_ = kNoSlot;  // index in the watch's list while armed
  bool in_run_ = false;         // due in the watch's current pass, not run yet
};

// The deadline of the operations on one socket. Armed before an operation (or a run of
// operations that share one deadline, such as a request's head and body) and finished after:
// a deadline left armed while nothing is pending would close an idle socket. At its time it
// closes the socket, as Beast's tcp_stream does, so every pending operation ends at once.
class Deadline final : public Timed {
 public:
  explicit Deadline(boost::asio::ip::tcp::socket& socket);

  void arm(Clock::duration timeout) { Timed::arm_at(Clock::now() + timeout, timeout / 8); }
  void arm_at(Clock::time_point at);
  // What an operation under this deadline ended with: beast::error::timeout when the
  // deadline closed the socket, else `ec`. check() keeps the deadline for the next
  // operation, finish() ends it.
  boost::system::error_code check(boost::system::error_code ec);
  boost::system::error_code finish(boost::system::error_code ec = {});

 private:
  void due() override;

  boost::asio::ip::tcp::socket& socket_;
  bool expired_ = false;  // closed at its time; the next check() reports it
};

// Calls a function at a time, unless disarmed first.
class Alarm final : public Timed {
 public:
  Alarm(const boost::asio::any_io_executor& executor, std::function<void()> on_due)
      : Timed(executor), on_due_(std::move(on_due)) {}

  void arm(Clock::duration wait) { Timed::arm_at(Clock::now() + wait, wait / 8); }
  // At `at`, at most an eighth of the wait from `now` late.
  void arm_at(Clock::time_point at, Clock::time_point now) {
    Timed::arm_at(at, std::max(Clock::duration::zero(), at - now) / 8);
  }

 private:
  void due() override { on_due_(); }

  std::function<void()> on_due_;
};

// The one timer of an io_context (an Asio service, made on first use).
class DeadlineWatch final : public boost::asio::execution_context::service {
 public:
  using Clock = Timed::Clock;
  static boost::asio::execution_context::id id;

  explicit DeadlineWatch(boost::asio::execution_context& context);

  std::size_t armed_count() const { return armed_.size(); }
  // Timer moves so far: tests check that steady traffic does not move it per operation.
  std::size_t timer_moves() const { return timer_moves_; }

 private:
  friend class Timed;
  void shutdown() override;

  void add(Timed& t, Clock::duration slack);
  void remove(Timed& t);
  // `t` (due in the current pass) was disarmed, re-armed or destroyed before its turn.
  void forget(Timed& t);
  void move_timer(Clock::time_point at);
  void run_due();

  std::vector<Timed*> armed_;
  std::vector<Timed*> running_;  // the current pass's due entries; null once forgotten
  std::optional<boost::asio::steady_timer> timer_;
  Clock::time_point wake_at_ = Clock::time_point::max();  // max: the timer waits for nothing
  std::size_t timer_moves_ = 0;
  bool shut_down_ = false;
};

}  // namespace bc::net
