// The usage ledger's SQLite store: the schema (numbered migrations in PRAGMA user_version),
// batched inserts that update the hourly and daily rollups in the same transaction, retention
// pruning, and the queries /admin/usage and `balancedcall usage` answer. WAL mode, so readers
// (another process included) never block the writer. One Store per thread: SQLite's
// connection is not shared here.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "core/result.h"
#include "usage/allowance.h"
#include "usage/record.h"

struct sqlite3;

namespace bc::usage {

enum class GroupBy { kClient, kModel, kKey, kHour, kDay };

// "client", "model", "key", "hour", "day"; nullopt otherwise.
std::optional<GroupBy> parse_group_by(std::string_view text);

// One sum of the day so far, for reading quotas and budgets back at startup.
struct CountSince {
  std::int64_t requests = 0;
  std::int64_t tokens = 0;
};

class Store {
 public:
  // Opens (creating it and its schema when `read_only` is false) the store at `path`.
  static Result<std::unique_ptr<Store>> open(const std::string& path, bool read_only = false);
  ~Store();
  Store(const Store&) = delete;
  Store& operator=(const Store&) = delete;

  // The schema version the store is at (the number of migrations applied).
  int schema_version() const;
  static int latest_schema_version();

  // Inserts `records` and adds them to the rollups, in one transaction.
  Status append(std::span<const UsageRecord> records);
  // Deletes records and hourly rollups older than `before_ms` (daily rollups are kept: they
  // are one row per day, client, model and key). Returns the records deleted.
  Result<std::int64_t> prune(std::int64_t before_ms);

  // Sums of the records in [from_ms, to_ms), grouped. Client, model and key groups read the
  // hourly rollup (whole hours: `from_ms` rounds down, `to_ms` up); hour and day groups read
  // their rollup.
  Result<std::vector<UsageTotals>> totals(std::int64_t from_ms, std::int64_t to_ms,
                                          GroupBy by) const;
  // The records and tokens since `since_ms` (up to now) of each key of `model` (quota
  // read-back; an empty model matches none) and of each client (budget read-back), by key id
  // and by client name.
  Result<std::map<std::string, CountSince>> keys_since(std::string_view model,
                                                       std::int64_t since_ms) const;
  Result<std::map<std::string, CountSince>> clients_since(std::int64_t since_ms) const;
  // Allowance marks (usage/allowance.h), in one transaction each. raise_marks() keeps the
  // larger of each stored and given count (a mark never falls while the gateway runs);
  // set_marks() writes them as given (the exact counts at a clean stop).
  Status raise_marks(std::span<const AllowanceMark> marks);
  Status set_marks(std::span<const AllowanceMark> marks);
  // The marks of `scope` for the period starting at `period_start_ms`, by name.
  Result<std::map<std::string, CountSince>> marks(std::string_view scope,
                                                  std::int64_t period_start_ms) const;
  // Deletes the marks of periods that started before `before_ms`.
  Status prune_marks(std::int64_t before_ms);
  // The number of records (tests, `balancedcall usage`).
  Result<std::int64_t> record_count() const;
  // SQLite's PRAGMA integrity_check: "ok" or its first complaint.
  Result<std::string> integrity_check() const;

 private:
  explicit Store(sqlite3* db) : db_(db) {}
  Status migrate();
  Result<std::map<std::string, CountSince>> sums_since(const char* column, std::string_view model,
                                                       std::int64_t since_ms) const;

  sqlite3* db_;
};

}  // namespace bc::usage
