// Timeouts of socket operations without an Asio timer per operation.
//
// Beast's tcp_stream arms a timer around every read and write and cancels it when the
// operation ends: a timer-queue insert and removal under the reactor's lock, a completion
// handler run with operation_aborted, and often a timerfd_settime system call. On a proxied
// request that was about 4,000 instructions and one system call (callgrind and strace on
// bench/load). Here a socket's deadline is a time stored in its Deadline; one timer per
// io_context (DeadlineWatch) wakes at the earliest deadline and closes the sockets whose time
// has passed, as Beast does, so their pending operations end. Setting a later deadline only
// stores it; an earlier one moves the timer only when the timer would otherwise be more than
// an eighth of the timeout late.
//
// Each io_context here is run by one thread (the server's workers, a test's loop), and a
// socket's Deadline is used only on it: no locks.
#pragma once

#include <chrono>
#include <cstddef>
#include <optional>
#include <vector>

#include <boost/asio/execution_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/system/error_code.hpp>

namespace bc::net {

class DeadlineWatch;

// The deadline of the operations on one socket. Armed before an operation (or a run of
// operations that share one deadline, such as a request's head and body) and finished after:
// a deadline left armed while nothing is pending would close an idle socket.
class Deadline {
 public:
  using Clock = std::chrono::steady_clock;

  explicit Deadline(boost::asio::ip::tcp::socket& socket);
  ~Deadline();
  Deadline(const Deadline&) = delete;
  Deadline& operator=(const Deadline&) = delete;

  // The socket is closed at `now + timeout` (or at `at`) unless finish() comes first.
  void arm(Clock::duration timeout);
  void arm_at(Clock::time_point at);
  // What an operation under this deadline ended with: beast::error::timeout when the
  // deadline closed the socket, else `ec`. check() keeps the deadline for the next
  // operation, finish() ends it.
  boost::system::error_code check(boost::system::error_code ec);
  boost::system::error_code finish(boost::system::error_code ec = {});
  // Ends the deadline without looking at an outcome.
  void disarm();

  bool armed() const { return slot_ != kNoSlot; }

 private:
  friend class DeadlineWatch;
  static constexpr std::size_t kNoSlot = static_cast<std::size_t>(-1);

  DeadlineWatch& watch_;
  boost::asio::ip::tcp::socket& socket_;
  Clock::time_point at_{};
  std::size_t slot_ = kNoSlot;  // index in the watch's list while armed
  bool expired_ = false;        // closed by the watch; the next check() reports it
};

// The one timer of an io_context (an Asio service, made on first use).
class DeadlineWatch final : public boost::asio::execution_context::service {
 public:
  using Clock = Deadline::Clock;
  static boost::asio::execution_context::id id;

  explicit DeadlineWatch(boost::asio::execution_context& context);

  std::size_t armed_count() const { return armed_.size(); }
  // Timer moves so far: tests check that steady traffic does not move it per operation.
  std::size_t timer_moves() const { return timer_moves_; }

 private:
  friend class Deadline;
  void shutdown() override;

  void add(Deadline& d, Clock::duration slack);
  void remove(Deadline& d);
  void move_timer(Clock::time_point at, const boost::asio::any_io_executor& executor);
  void expire_due();

  std::vector<Deadline*> armed_;
  std::optional<boost::asio::steady_timer> timer_;
  Clock::time_point wake_at_ = Clock::time_point::max();  // max: the timer waits for nothing
  std::size_t timer_moves_ = 0;
  bool shut_down_ = false;
};

}  // namespace bc::net
