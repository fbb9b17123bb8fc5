#include "net/deadline.h"

#include <algorithm>

#include <boost/asio/execution/context.hpp>
#include <boost/asio/query.hpp>
#include <boost/beast/core/error.hpp>

namespace bc::net {

namespace asio = boost::asio;
using boost::system::error_code;

asio::execution_context::id DeadlineWatch::id;

Timed::Timed(const asio::any_io_executor& executor)
    : watch_(asio::use_service<DeadlineWatch>(asio::query(executor, asio::execution::context))) {
  if (!watch_.timer_ && !watch_.shut_down_) watch_.timer_.emplace(executor);
}

Timed::~Timed() {
  disarm();
}

void Timed::disarm() {
  if (in_run_) watch_.forget(*this);
  if (armed()) watch_.remove(*this);
}

void Timed::arm_at(Clock::time_point at, Clock::duration slack) {
  if (in_run_) watch_.forget(*this);
  at_ = at;
  watch_.add(*this, slack);
}

Deadline::Deadline(asio::ip::tcp::socket& socket) : Timed(socket.get_executor()), socket_(socket) {}

void Deadline::arm_at(Clock::time_point at) {
  Timed::arm_at(at, std::max(Clock::duration::zero(), at - Clock::now()) / 8);
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

void Deadline::due() {
  // Beast's rule: a timeout closes the socket, so every operation on it ends at once and the
  // connection is not used again.
  expired_ = true;
  error_code ignored;
  socket_.close(ignored);
}

DeadlineWatch::DeadlineWatch(asio::execution_context& context) : service(context) {}

void DeadlineWatch::shutdown() {
  // Pending waits are destroyed by the timer's own service, never run; the timer goes before
  // that service is destroyed. Entries destroyed later (with the coroutine frames that hold
  // them) still leave the list.
  shut_down_ = true;
  timer_.reset();
}

void DeadlineWatch::add(Timed& t, Clock::duration slack) {
  if (!t.armed()) {
    t.slot_ = armed_.size();
    armed_.push_back(&t);
  }
  // A timer that fires early costs one pass over the list; one that is moved for every
  // operation costs what this class exists to save. So it moves only when it would be late
  // by more than the entry's slack.
  if (t.at_ + slack < wake_at_) move_timer(t.at_);
}

void DeadlineWatch::remove(Timed& t) {
  // Swap with the last: order does not matter, and the timer is left where it is (it wakes,
  // finds nothing due and waits for the next entry).
  Timed* last = armed_.back();
  armed_[t.slot_] = last;
  last->slot_ = t.slot_;
  armed_.pop_back();
  t.slot_ = Timed::kNoSlot;
}

void DeadlineWatch::forget(Timed& t) {
  t.in_run_ = false;
  std::replace(running_.begin(), running_.end(), &t, static_cast<Timed*>(nullptr));
}

void DeadlineWatch::move_timer(Clock::time_point at) {
  if (!timer_) return;  // shut down
  wake_at_ = at;
  ++timer_moves_;
  // Moving the expiry cancels the pending wait, whose handler then sees operation_aborted.
  timer_->expires_at(at);
  timer_->async_wait([this](error_code ec) {
    if (!ec) run_due();
  });
}

void DeadlineWatch::run_due() {
  const auto now = Clock::now();
  // Due entries leave the list first and run after the pass: what they run may arm, disarm
  // or destroy other entries (forget() takes those out of the run).
  running_.clear();
  auto next = Clock::time_point::max();
  for (std::size_t i = 0; i < armed_.size();) {
    Timed& t = *armed_[i];
    if (t.at_ > now) {
      next = std::min(next, t.at_);
      ++i;
      continue;
    }
    remove(t);  // brings the last entry to slot i
    t.in_run_ = true;
    running_.push_back(&t);
  }
  wake_at_ = Clock::time_point::max();
  if (next != Clock::time_point::max()) move_timer(next);
  // Earliest first, as if each had its own timer.
  std::sort(running_.begin(), running_.end(),
            [](const Timed* a, const Timed* b) { return a->at_ < b->at_; });
  for (std::size_t i = 0; i < running_.size(); ++i) {
    Timed* t = running_[i];
    if (t == nullptr) continue;
    t->in_run_ = false;
    t->due();
  }
  running_.clear();
}

}  // namespace bc::net
