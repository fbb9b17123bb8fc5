// Allowance marks: how daily quotas and client budgets survive a crash. Records reach the
// store up to a flush interval late, and a request in flight has none yet, so after kill -9
// the records alone undercount the day and a restart could let a key or client overshoot.
// Instead, the ledger's writer makes an allowance durable *ahead* of use: a mark, per key or
// client and period, of how far admission may go. Admission stays inside the last mark
// committed (balance::KeyLoad's grant, usage::Budget's grant), and the read-back at startup
// takes the larger of the records and the mark, so it never counts less than was admitted.
// A crash over-counts by at most the headroom (next_mark); a clean stop writes the exact
// counts as the marks, so a clean restart counts exactly.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace bc::usage {

struct AllowanceMark {
  std::string scope;  // "key:<model>", "client:day" or "client:month"
  std::string name;   // the key id or the client name
  std::int64_t period_start_ms = 0;
  std::int64_t requests = 0;
  std::int64_t tokens = 0;
};

// What the writer asks, once per flush interval and whenever someone ran short.
class AllowanceSource {
 public:
  virtual ~AllowanceSource() = default;
  // The marks that should rise now (writer thread). `wall_ms`: the time they are for.
  virtual std::vector<AllowanceMark> wanted(std::int64_t wall_ms) = 0;
  // They are committed: admission may go up to them.
  virtual void granted(const std::vector<AllowanceMark>& marks, std::int64_t wall_ms) = 0;
  // The exact counts of the current periods, written as the marks at a clean stop.
  virtual std::vector<AllowanceMark> exact(std::int64_t wall_ms) = 0;
};

// One limit's next mark. `used`: counted in the period so far; `recent`: counted since the
// writer last looked (the rate per interval); `granted`: the current mark (0: none for this
// period); `wanted`: the largest amount a request was turned away with since (0: none).
// Answers `granted` when no rise is needed, else a rise to used + headroom (at most `limit`),
// where headroom is the larger of a 50th of the limit, twice the recent use, twice the
// wanted amount and 1: a crash can over-count by at most that.
std::int64_t next_mark(std::int64_t limit, std::int64_t used, std::int64_t recent,
                       std::int64_t granted, std::int64_t wanted);

}  // namespace bc::usage
