#include "gateway/admission.h"

#include <algorithm>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

namespace bc::gateway {

namespace asio = boost::asio;

struct AdmissionQueue::Waiter {
  Waiter(asio::any_io_executor ex, const balance::Demand& d, std::uint64_t s)
      : timer(ex), demand(d), seq(s) {}
  asio::steady_timer timer;  // touched only on the waiter's own executor
  balance::Demand demand;
  std::uint64_t seq;
  std::atomic<bool> notified{false};
};

AdmissionQueue::AdmissionQueue(balance::Pool& pool, int max_waiting)
    : pool_(pool), max_waiting_(static_cast<std::size_t>(max_waiting)) {}

void AdmissionQueue::Ticket::reset() {
  if (queue_ != nullptr && waiter_) queue_->leave(waiter_);
  waiter_.reset();
  queue_ = nullptr;
}

bool AdmissionQueue::matches(const Waiter& w, std::size_t model) const {
  if (w.demand.model && *w.demand.model != model) return false;
  return !w.demand.needs_tools || pool_.model(model).supports_tools;
}

bool AdmissionQueue::has_waiters(const balance::Demand& demand) const {
  if (count_.load(std::memory_order_relaxed) == 0) return false;
  std::lock_guard lock(mutex_);
  for (const auto& w : waiters_) {
    // Two demands compete when either may go to any model or both name the same one.
    if (!demand.model || !w->demand.model || *w->demand.model == *demand.model) return true;
  }
  return false;
}

void AdmissionQueue::wake_first(std::optional<std::size_t> model) {
  for (const auto& w : waiters_) {
    if (w->notified.load(std::memory_order_relaxed)) continue;
    if (model && !matches(*w, *model)) continue;
    w->notified.store(true, std::memory_order_relaxed);
    auto waiter = w;
    asio::post(w->timer.get_executor(), [waiter] { waiter->timer.cancel(); });
    return;
  }
}

void AdmissionQueue::notify(balance::Target freed) {
  if (count_.load(std::memory_order_relaxed) == 0) return;
  std::lock_guard lock(mutex_);
  wake_first(freed.model);
}

void AdmissionQueue::leave(const std::shared_ptr<Waiter>& w) {
  std::lock_guard lock(mutex_);
  const auto it = std::find(waiters_.begin(), waiters_.end(), w);
  if (it == waiters_.end()) return;
  waiters_.erase(it);
  count_.fetch_sub(1, std::memory_order_relaxed);
  // A wake-up this waiter received but did not use (it timed out or its client left, or it
  // was admitted) is passed on, so freed capacity never sits idle while others wait.
  if (w->notified.load(std::memory_order_relaxed)) wake_first(std::nullopt);
}

asio::awaitable<AdmissionQueue::Wake> AdmissionQueue::wait(const balance::Demand& demand,
                                                           TimePoint deadline,
                                                           asio::any_io_executor executor,
                                                           net::ClientWatch& client,
                                                           Ticket& ticket) {
  if (!ticket.waiter_) {
    std::lock_guard lock(mutex_);
    if (waiters_.size() >= max_waiting_) co_return Wake::kFull;
    ticket.waiter_ = std::make_shared<Waiter>(executor, demand, next_seq_++);
    ticket.queue_ = this;
    waiters_.push_back(ticket.waiter_);
    count_.fetch_add(1, std::memory_order_relaxed);
  }
  auto& w = *ticket.waiter_;
  w.notified.store(false, std::memory_order_relaxed);

  const auto now = Clock::now();
  if (now >= deadline) co_return Wake::kDeadline;
  // Besides a freed slot, capacity also comes back with time: a QPS window moving on or a
  // cooldown ending. Wake then too.
  auto wake_at = deadline;
  if (const auto next = pool_.next_available(demand, now); next && *next < wake_at) {
    wake_at = std::max(*next, now + std::chrono::milliseconds(1));
  }
  w.timer.expires_at(wake_at);
  auto* timer = &w.timer;
  client.on_client_gone([timer] { timer->cancel(); });
  auto [ec] = co_await w.timer.async_wait(asio::as_tuple(asio::use_awaitable));
  client.on_client_gone({});
  if (client.client_gone()) co_return Wake::kClientGone;
  if (!ec && Clock::now() >= deadline) co_return Wake::kDeadline;
  co_return Wake::kRetry;
}

}  // namespace bc::gateway
