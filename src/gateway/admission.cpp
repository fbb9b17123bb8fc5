#include "gateway/admission.h"

#include <algorithm>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

namespace bc::gateway {

namespace asio = boost::asio;

struct AdmissionQueue::Waiter {
  Waiter(asio::any_io_executor ex, const balance::Demand& d, std::uint64_t s, const Caller& c)
      : timer(ex), demand(d), seq(s), client(c.id), stride(1.0 / (c.weight > 0 ? c.weight : 1)) {}
  asio::steady_timer timer;  // touched only on the waiter's own executor
  balance::Demand demand;
  std::uint64_t seq;
  const void* client;  // its line in lines_
  double stride;       // 1 / the client's weight
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

std::vector<std::size_t> AdmissionQueue::waiting_by_model(std::size_t models) const {
  std::vector<std::size_t> out(models + 1, 0);
  if (count_.load(std::memory_order_relaxed) == 0) return out;
  std::lock_guard lock(mutex_);
  for (const auto& w : waiters_) {
    const std::size_t m = w->demand.model.value_or(models);
    ++out[std::min(m, models)];
  }
  return out;
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
  // The first waiter (in arrival order) of the client with the lowest pass among those with a
  // waiter the freed capacity can serve: one pass over the list, comparing each client's first
  // such waiter only.
  const std::shared_ptr<Waiter>* best = nullptr;
  Line* best_line = nullptr;
  for (const auto& w : waiters_) {
    if (w->notified.load(std::memory_order_relaxed)) continue;
    if (model && !matches(*w, *model)) continue;
    Line& line = lines_[w->client];
    if (best_line == nullptr || line.pass < best_line->pass) {
      best = &w;
      best_line = &line;
    }
  }
  if (best == nullptr) return;
  auto waiter = *best;
  waiter->notified.store(true, std::memory_order_relaxed);
  now_pass_ = std::max(now_pass_, best_line->pass);
  best_line->pass += waiter->stride;
  asio::post(waiter->timer.get_executor(), [waiter] { waiter->timer.cancel(); });
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
  if (const auto line = lines_.find(w->client);
      line != lines_.end() && --line->second.queued == 0) {
    lines_.erase(line);  // a client that comes back starts at the current pass, not its old one
  }
  // A wake-up this waiter received but did not use (it timed out or its client left, or it
  // was admitted) is passed on, so freed capacity never sits idle while others wait.
  if (w->notified.load(std::memory_order_relaxed)) wake_first(std::nullopt);
}

asio::awaitable<AdmissionQueue::Wake> AdmissionQueue::wait(
    const balance::Demand& demand, TimePoint deadline, asio::any_io_executor executor,
    net::ClientWatch& client, Ticket& ticket, const Caller& caller, bool local_capacity_wakes) {
  if (!ticket.waiter_) {
    std::lock_guard lock(mutex_);
    if (waiters_.size() >= max_waiting_) co_return Wake::kFull;
    auto& line = lines_[caller.id];
    if (caller.max_queued > 0 && line.queued >= static_cast<std::size_t>(caller.max_queued)) {
      co_return Wake::kCallerFull;
    }
    // A client that starts waiting joins at the current pass: time it spent away earns it
    // no burst over the clients that kept waiting.
    if (line.queued++ == 0) line.pass = std::max(line.pass, now_pass_);
    ticket.waiter_ = std::make_shared<Waiter>(executor, demand, next_seq_++, caller);
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
  if (const auto next = local_capacity_wakes ? pool_.next_available(demand, now) : std::nullopt;
      next && *next < wake_at) {
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
