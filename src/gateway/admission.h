// The admission queue: when no key can take a request now, it waits here until a lease ends
// or a rate window opens, or until its deadline. Fair across clients: each client (a client
// key; requests without one are one client) has its own line, the lines are served in turn
// in proportion to their weights (stride scheduling), and each line is first come first
// served. One client sending hundreds of requests at once cannot make the others wait behind
// all of them. Shared by every worker thread; a waiter is woken on its own thread.
#pragma once

#include <atomic>
#include <cstdint>
#include <list>
#include <memory>
#include <mutex>
#include <string_view>
#include <unordered_map>
#include <vector>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>

#include "balance/pool.h"
#include "core/clock.h"
#include "net/http_server.h"

namespace bc::gateway {

// Who a request comes from, for its share of the queue.
struct Caller {
  const void* id = nullptr;  // its client key's identity; nullptr: requests with none
  std::string_view name;     // for error messages
  double weight = 1;         // its share of the wake-ups against other waiting clients
  int max_queued = 0;        // its requests waiting at once; 0: only queue.max_waiting
};

class AdmissionQueue {
 public:
  struct Waiter;

  // A request's place in the queue, kept across wake-ups so a woken request that loses the
  // race for the freed slot goes back to the front, not the end. Leaves the queue when
  // destroyed.
  class Ticket {
   public:
    Ticket() = default;
    Ticket(const Ticket&) = delete;
    Ticket& operator=(const Ticket&) = delete;
    ~Ticket() { reset(); }
    bool queued() const { return waiter_ != nullptr; }
    // Leaves the queue (passing on a wake-up it received but did not use).
    void reset();

   private:
    friend class AdmissionQueue;
    AdmissionQueue* queue_ = nullptr;
    std::shared_ptr<Waiter> waiter_;
  };

  enum class Wake { kRetry, kDeadline, kClientGone, kFull, kCallerFull };

  AdmissionQueue(balance::Pool& pool, int max_waiting);

  // Waits for capacity that may serve `demand`. kRetry: try to acquire again (the ticket keeps
  // the request's place if that fails); kDeadline: `deadline` passed; kClientGone: the client
  // left (it leaves the queue at once); kFull: the queue already holds max_waiting requests;
  // kCallerFull: `caller` already has its max_queued requests waiting.
  // `local_capacity_wakes` false: only a freed slot or the deadline wakes the waiter, not the
  // pool's own view that a key has room (the limits shared with other instances refused it).
  boost::asio::awaitable<Wake> wait(const balance::Demand& demand, TimePoint deadline,
                                    boost::asio::any_io_executor executor, net::ClientWatch& client,
                                    Ticket& ticket, const Caller& caller,
                                    bool local_capacity_wakes = true);

  // True when earlier requests wait for capacity this demand could take: a newcomer then
  // queues behind them instead of overtaking. Cheap when nobody waits.
  bool has_waiters(const balance::Demand& demand) const;

  // From the pool's release listener, on any thread: wakes the first waiter the freed key can
  // serve.
  void notify(balance::Target freed);

  std::size_t waiting() const { return count_.load(std::memory_order_relaxed); }
  // The requests waiting now that named each model ([model], `models` entries), and last, one
  // more entry: those for any model. Takes the lock (for the dashboard, once a second).
  std::vector<std::size_t> waiting_by_model(std::size_t models) const;

 private:
  // One client's line: how many of its requests wait, and its pass (stride scheduling: the
  // waiting client with the lowest pass is woken next, and each wake-up adds 1 / weight).
  struct Line {
    std::size_t queued = 0;
    double pass = 0;
  };
  bool matches(const Waiter& w, std::size_t model) const;
  void leave(const std::shared_ptr<Waiter>& w);
  // Wakes the first un-notified waiter that a key of `model` (or any model) can serve.
  void wake_first(std::optional<std::size_t> model);

  balance::Pool& pool_;
  const std::size_t max_waiting_;
  mutable std::mutex mutex_;
  std::list<std::shared_ptr<Waiter>> waiters_;   // in arrival order
  std::unordered_map<const void*, Line> lines_;  // the clients with requests waiting
  double now_pass_ = 0;                          // the pass of the last client woken
  std::atomic<std::size_t> count_{0};
  std::uint64_t next_seq_ = 0;
};

}  // namespace bc::gateway
