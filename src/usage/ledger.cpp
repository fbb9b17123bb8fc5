#include "usage/ledger.h"

#include <spdlog/spdlog.h>

#include "usage/store.h"

namespace bc::usage {

namespace {

std::int64_t now_ms() {
  using namespace std::chrono;
  return duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count();
}

std::int64_t retention_start(int retention_days) {
  return now_ms() - std::int64_t{retention_days} * 24 * 3'600'000;
}

}  // namespace

Result<std::unique_ptr<Ledger>> Ledger::open(LedgerOptions options) {
  auto store = Store::open(options.path);
  if (!store) return std::move(store).error();
  if (auto pruned = (*store)->prune(retention_start(options.retention_days)); !pruned) {
    return std::move(pruned).error();
  }
  return std::unique_ptr<Ledger>(new Ledger(std::move(options), std::move(*store)));
}

Ledger::Ledger(LedgerOptions options, std::unique_ptr<Store> store)
    : options_(std::move(options)), store_(std::move(store)) {
  queue_.reserve(std::min<std::size_t>(options_.queue_size, 4096));
  writer_ = std::thread([this] { run(); });
}

Ledger::~Ledger() {
  close();
}

void Ledger::close() {
  std::call_once(closed_, [this] {
    {
      std::lock_guard lock(mutex_);
      stopping_ = true;
    }
    wake_.notify_one();
    writer_.join();
    std::lock_guard lock(mutex_);
    allowance_source_.reset();  // it holds the config generation's keys and budgets
  });
}

void Ledger::set_allowance_source(std::shared_ptr<AllowanceSource> source) {
  {
    std::lock_guard lock(mutex_);
    allowance_source_ = std::move(source);
    allowance_wanted_ = true;  // a new generation's keys and clients start without marks
  }
  wake_.notify_one();
}

void Ledger::want_allowance() {
  {
    std::lock_guard lock(mutex_);
    if (allowance_wanted_) return;
    allowance_wanted_ = true;
  }
  wake_.notify_one();
}

void Ledger::submit(UsageRecord&& record) {
  std::lock_guard lock(mutex_);
  if (queue_.size() >= options_.queue_size) {
    dropped_.fetch_add(1, std::memory_order_relaxed);
    return;
  }
  queue_.push_back(std::move(record));
}

std::size_t Ledger::queued() const {
  std::lock_guard lock(mutex_);
  return queue_.size();
}

void Ledger::run() {
  using Clock = std::chrono::steady_clock;
  std::vector<UsageRecord> batch;
  auto next_flush = Clock::now() + options_.flush_interval;
  auto next_drop_log = Clock::now() + options_.drop_log_interval;
  auto next_prune = Clock::now() + options_.prune_interval;
  std::uint64_t drops_logged = 0;
  for (;;) {
    bool stop = false;
    bool flush = false;
    std::shared_ptr<AllowanceSource> source;
    {
      std::unique_lock lock(mutex_);
      // Wakes at the flush time, to stop, or for marks someone ran short of: a batch per
      // interval, whatever the rate.
      wake_.wait_until(lock, next_flush, [this] { return stopping_ || allowance_wanted_; });
      stop = stopping_;
      flush = stop || Clock::now() >= next_flush;
      allowance_wanted_ = false;
      source = allowance_source_;
      if (flush) batch.swap(queue_);
    }
    if (flush) {
      write(batch);
      batch.clear();
      next_flush = Clock::now() + options_.flush_interval;
    }
    if (source) {
      if (stop) {
        settle_marks(*source);
      } else {
        raise_marks(*source);
      }
    }
    const auto now = Clock::now();
    if (const auto drops = dropped(); drops != drops_logged && (now >= next_drop_log || stop)) {
      spdlog::warn(
          "usage ledger: queue full ({} records), {} records dropped since the last "
          "warning ({} in all); raise usage.queue_size or usage.flush_ms down",
          options_.queue_size, drops - drops_logged, drops);
      drops_logged = drops;
      next_drop_log = now + options_.drop_log_interval;
    }
    if (now >= next_prune) {
      if (auto pruned = store_->prune(retention_start(options_.retention_days)); !pruned) {
        spdlog::warn("usage ledger: pruning failed: {}", pruned.error().message);
      }
      // Marks matter only in their period (a month at most); a few days more, whatever the
      // retention.
      if (auto pruned = store_->prune_marks(now_ms() - std::int64_t{35} * 24 * 3'600'000);
          !pruned) {
        spdlog::warn("usage ledger: pruning the allowance marks failed: {}",
                     pruned.error().message);
      }
      next_prune = now + options_.prune_interval;
    }
    if (stop) return;
  }
}

void Ledger::raise_marks(AllowanceSource& source) {
  const std::int64_t wall_ms = now_ms();
  std::vector<AllowanceMark> marks = source.wanted(wall_ms);
  if (marks.empty()) return;
  if (auto s = store_->raise_marks(marks); !s) {
    // Nothing granted: admission stays inside the marks already durable, and asks again.
    if (marks_failed_.fetch_add(marks.size(), std::memory_order_relaxed) == 0) {
      spdlog::error("usage ledger: allowance marks not written (quotas and budgets wait): {}",
                    s.error().message);
    }
    return;
  }
  source.granted(marks, wall_ms);
}

void Ledger::settle_marks(AllowanceSource& source) {
  // Records dropped or lost would make the exact counts the only trace of their use, and
  // writing them as marks is right then too: the counts include every admitted request.
  const std::vector<AllowanceMark> marks = source.exact(now_ms());
  if (auto s = store_->set_marks(marks); !s) {
    spdlog::warn(
        "usage ledger: the exact counts were not written at stop; the marks stay ahead "
        "of them: {}",
        s.error().message);
  }
}

void Ledger::write(std::vector<UsageRecord>& batch) {
  if (batch.empty()) return;
  if (auto s = store_->append(batch); !s) {
    failed_.fetch_add(batch.size(), std::memory_order_relaxed);
    spdlog::error("usage ledger: {} records lost: {}", batch.size(), s.error().message);
    return;
  }
  written_.fetch_add(batch.size(), std::memory_order_relaxed);
}

}  // namespace bc::usage
