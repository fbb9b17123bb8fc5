// The usage ledger's write-behind: requests hand their record to submit(), which never waits
// for the disk, and one writer thread writes what queued up every flush interval, as one
// transaction (usage/store.h). A full queue drops the record, counts it, and the writer logs
// the drops at most once per interval; the counts are exported as metrics. The writer also
// keeps the allowance marks of the daily quotas and budgets ahead of use (usage/allowance.h):
// once per interval, and at once when someone runs short.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "core/result.h"
#include "usage/allowance.h"
#include "usage/record.h"

namespace bc::usage {

class Store;

struct LedgerOptions {
  std::string path;
  int retention_days = 90;
  std::chrono::milliseconds flush_interval{1000};
  std::size_t queue_size = 65536;
  // How often the writer logs drops (when there were any) and prunes old records.
  std::chrono::milliseconds drop_log_interval{10'000};
  std::chrono::milliseconds prune_interval{3'600'000};
};

class Ledger {
 public:
  // Opens the store (schema brought up to date, old records pruned) and starts the writer.
  static Result<std::unique_ptr<Ledger>> open(LedgerOptions options);
  // Writes what is queued, then stops the writer (close()).
  ~Ledger();
  Ledger(const Ledger&) = delete;
  Ledger& operator=(const Ledger&) = delete;

  // Any thread. Takes a short lock, never waits for the writer; drops the record when the
  // queue is full.
  void submit(UsageRecord&& record);

  // Where the allowance marks come from (the current generation's quotas and budgets);
  // replaces the one before. Null: none.
  void set_allowance_source(std::shared_ptr<AllowanceSource> source);
  // Something ran short of its allowance: the writer raises the marks now rather than at the
  // next interval. Any thread; never waits.
  void want_allowance();
  // At a clean stop, once nothing is in flight: writes what is queued and the exact counts as
  // the marks, then stops the writer. Idempotent; the destructor calls it.
  void close();

  std::uint64_t written() const { return written_.load(std::memory_order_relaxed); }
  std::uint64_t dropped() const { return dropped_.load(std::memory_order_relaxed); }
  // Batches the store refused (disk full, ...): their records are lost and counted here.
  std::uint64_t failed() const { return failed_.load(std::memory_order_relaxed); }
  // Allowance marks that could not be written (admission then waits at the old marks).
  std::uint64_t marks_failed() const { return marks_failed_.load(std::memory_order_relaxed); }
  std::size_t queued() const;
  const LedgerOptions& options() const { return options_; }

 private:
  Ledger(LedgerOptions options, std::unique_ptr<Store> store);
  void run();
  void write(std::vector<UsageRecord>& batch);
  // Raises the marks the source wants and grants them once committed (writer thread).
  void raise_marks(AllowanceSource& source);
  // The exact counts as the marks (writer thread, at a clean stop).
  void settle_marks(AllowanceSource& source);

  LedgerOptions options_;
  std::unique_ptr<Store> store_;  // used by the writer thread only, once it runs
  mutable std::mutex mutex_;
  std::condition_variable wake_;
  std::vector<UsageRecord> queue_;                     // guarded by mutex_
  bool stopping_ = false;                              // guarded by mutex_
  bool allowance_wanted_ = false;                      // guarded by mutex_
  std::shared_ptr<AllowanceSource> allowance_source_;  // guarded by mutex_
  std::atomic<std::uint64_t> written_{0};
  std::atomic<std::uint64_t> dropped_{0};
  std::atomic<std::uint64_t> failed_{0};
  std::atomic<std::uint64_t> marks_failed_{0};
  std::once_flag closed_;
  std::thread writer_;
};

}  // namespace bc::usage
