// A vector for the deltas of one upstream read, lent from a small per-thread free list.
//
// Why: a read often brings a burst of events (a whole short answer at once); growing a fresh
// vector for them moved every delta five times and cost as many allocations per stream,
// while keeping the vector for the stream's life held its capacity in every open stream. A
// lent vector already has room for a burst, and a stream waiting for its next event holds
// none. The vector is owned by one coroutine at a time; the list is touched only in the
// constructor and destructor, which never suspend, so a coroutine that moved to another
// thread meanwhile just returns it to that thread's list.
#pragma once

#include <cstddef>
#include <utility>
#include <vector>

#include "providers/relay_delta.h"

namespace bc::gateway {

class DeltaScratch {
 public:
  DeltaScratch() {
    auto& list = free_list();
    if (!list.empty()) {
      deltas_ = std::move(list.back());
      list.pop_back();
    }
  }
  ~DeltaScratch() {
    deltas_.clear();
    auto& list = free_list();
    if (list.size() < kKept && deltas_.capacity() <= kMaxCapacity) {
      list.push_back(std::move(deltas_));
    }
  }
  DeltaScratch(const DeltaScratch&) = delete;
  DeltaScratch& operator=(const DeltaScratch&) = delete;

  std::vector<providers::RelayDelta>& get() { return deltas_; }

 private:
  static constexpr std::size_t kKept = 8;           // vectors kept per thread
  static constexpr std::size_t kMaxCapacity = 256;  // a larger one is freed, not kept

  static std::vector<std::vector<providers::RelayDelta>>& free_list() {
    thread_local std::vector<std::vector<providers::RelayDelta>> list;
    return list;
  }

  std::vector<providers::RelayDelta> deltas_;
};

}  // namespace bc::gateway
