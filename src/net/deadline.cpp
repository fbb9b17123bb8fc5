#include "net/deadline.h"

#include <algorithm>

#include <boost/asio/execution/context.hpp>
#include <boost/asio/query.hpp>
#include <boost/beast/core/error.hpp>

namespace bc::net {

namespace asio = boost::asio;
using boost::system::error_code;

asio::execution_context::id DeadlineWatch::id;

Deadline::Deadline(asio::ip::tcp::socket& socket)
    : watch_(asio::use_service<DeadlineWatch>(
          asio::query(socket.get_executor(), asio::execution::context))),
      socket_(socket) {}

Deadline::~Deadline() {
  disarm();
}

void Deadline::arm(Clock::duration timeout) {
  at_ = Clock::now() + timeout;
  watch_.add(*this, timeout / 8);
}

void Deadline::arm_at(Clock::time_point at) {
  at_ = at;
  watch_.add(*this, std::max(Clock::duration::zero(), at - Clock::now()) / 8);
}

error_code Deadline::check(error_code ec) {
  if (!expired_) return ec;
  expired_ = false;
  return boost::beast::error::timeout;
}

error_code Deadline::finish(error_code ec) {
  disarm();
  return check(ec);
}

void Deadline::disarm() {
  if (armed()) watch_.remove(*this);
}

DeadlineWatch::DeadlineWatch(asio::execution_context& context) : service(context) {}

void DeadlineWatch::shutdown() {
  // Pending waits are destroyed by the timer's own service, never run; the timer goes before
  // that service is destroyed. Deadlines destroyed later (with the coroutine frames that
  // hold them) still leave the list.
  shut_down_ = true;
  timer_.reset();
}

void DeadlineWatch::add(Deadline& d, Clock::duration slack) {
  if (!d.armed()) {
    d.slot_ = armed_.size();
    armed_.push_back(&d);
  }
  // A timer that fires early costs one pass over the list; one that is moved for every
  // operation costs what this class exists to save. So it moves only when it would be late
  // by more than an eighth of the timeout.
  if (d.at_ + slack < wake_at_) move_timer(d.at_, d.socket_.get_executor());
}

void DeadlineWatch::remove(Deadline& d) {
  // Swap with the last: order does not matter, and the timer is left where it is (it wakes,
  // finds nothing due and waits for the next deadline).
  Deadline* last = armed_.back();
  armed_[d.slot_] = last;
  last->slot_ = d.slot_;
  armed_.pop_back();
  d.slot_ = Deadline::kNoSlot;
}

void DeadlineWatch::move_timer(Clock::time_point at, const asio::any_io_executor& executor) {
  if (shut_down_) return;
  if (!timer_) timer_.emplace(executor);
  wake_at_ = at;
  ++timer_moves_;
  // Moving the expiry cancels the pending wait, whose handler then sees operation_aborted.
  timer_->expires_at(at);
  timer_->async_wait([this](error_code ec) {
    if (!ec) expire_due();
  });
}

void DeadlineWatch::expire_due() {
  const auto now = Clock::now();
  auto next = Clock::time_point::max();
  for (std::size_t i = 0; i < armed_.size();) {
    Deadline& d = *armed_[i];
    if (d.at_ > now) {
      next = std::min(next, d.at_);
      ++i;
      continue;
    }
    // Beast's rule: a timeout closes the socket, so every operation on it ends at once and
    // the connection is not used again.
    remove(d);  // brings the last entry to slot i
    d.expired_ = true;
    error_code ignored;
    d.socket_.close(ignored);
  }
  wake_at_ = Clock::time_point::max();
  if (next != Clock::time_point::max()) move_timer(next, timer_->get_executor());
}

}  // namespace bc::net
