// The SQLite side of the usage ledger. Every statement is prepared per call: a batch holds
// hundreds of records, so preparing is a small share, and the Store keeps no statement state.
#include "usage/store.h"

#include <sqlite3.h>

#include <chrono>
#include <limits>
#include <map>
#include <tuple>

#include "usage/sqlite_util.h"

namespace bc::usage {

namespace {

using detail::exec;
using detail::rollback;
using detail::Statement;
using detail::store_error;

constexpr std::int64_t kHourMs = 3'600'000;
constexpr std::int64_t kDayMs = 24 * kHourMs;

// Migration n (1-based) brings the schema from version n-1 to n. Append only: a store made by
// an older gateway is brought forward at open; never edit a migration that shipped.
const char* const kMigrations[] = {
    // 1: the records, the hourly and daily rollups.
    "CREATE TABLE requests ("
    " id INTEGER PRIMARY KEY, at_ms INTEGER NOT NULL, client TEXT NOT NULL,"
    " route TEXT NOT NULL, model TEXT NOT NULL, key_id TEXT NOT NULL, provider TEXT NOT NULL,"
    " prompt_tokens INTEGER NOT NULL, completion_tokens INTEGER NOT NULL,"
    " total_tokens INTEGER NOT NULL, tokens_estimated INTEGER NOT NULL,"
    " status INTEGER NOT NULL, error_class TEXT NOT NULL, latency_ms REAL NOT NULL,"
    " ttft_ms REAL, streamed INTEGER NOT NULL, attempts INTEGER NOT NULL);"
    "CREATE INDEX requests_at ON requests(at_ms);"
    "CREATE INDEX requests_key_at ON requests(model, key_id, at_ms);"
    "CREATE INDEX requests_client_at ON requests(client, at_ms);"
    "CREATE TABLE rollup_hour ("
    " start_ms INTEGER NOT NULL, client TEXT NOT NULL, model TEXT NOT NULL,"
    " key_id TEXT NOT NULL, requests INTEGER NOT NULL, errors INTEGER NOT NULL,"
    " prompt_tokens INTEGER NOT NULL, completion_tokens INTEGER NOT NULL,"
    " total_tokens INTEGER NOT NULL, PRIMARY KEY (start_ms, client, model, key_id))"
    " WITHOUT ROWID;"
    "CREATE TABLE rollup_day ("
    " start_ms INTEGER NOT NULL, client TEXT NOT NULL, model TEXT NOT NULL,"
    " key_id TEXT NOT NULL, requests INTEGER NOT NULL, errors INTEGER NOT NULL,"
    " prompt_tokens INTEGER NOT NULL, completion_tokens INTEGER NOT NULL,"
    " total_tokens INTEGER NOT NULL, PRIMARY KEY (start_ms, client, model, key_id))"
    " WITHOUT ROWID;",
    // 2: the records keep one index, by time. The read-backs at startup sum the hourly
    // rollup and the records of the day's first partial hour instead of reading one key's
    // or client's records by index, and each index cost a B-tree insert per record.
    "DROP INDEX requests_key_at;"
    "DROP INDEX requests_client_at;",
    // 3: the allowance marks (usage/allowance.h): how far admission may have gone in a period.
    "CREATE TABLE allowance ("
    " scope TEXT NOT NULL, name TEXT NOT NULL, period_start_ms INTEGER NOT NULL,"
    " requests INTEGER NOT NULL, tokens INTEGER NOT NULL,"
    " PRIMARY KEY (scope, name, period_start_ms)) WITHOUT ROWID;",
};

// "2025-01-31T12:00:00Z" (hour) or "2025-01-31" (day), UTC.
std::string iso_group(std::int64_t start_ms, bool day) {
  using namespace std::chrono;
  const sys_seconds at{seconds(start_ms / 1000)};
  const auto days = floor<std::chrono::days>(at);
  const year_month_day ymd{days};
  const hh_mm_ss hms{at - days};
  char buf[64];
  if (day) {
    std::snprintf(buf, sizeof buf, "%04d-%02u-%02u", static_cast<int>(ymd.year()),
                  static_cast<unsigned>(ymd.month()), static_cast<unsigned>(ymd.day()));
  } else {
    std::snprintf(buf, sizeof buf, "%04d-%02u-%02uT%02ld:00:00Z", static_cast<int>(ymd.year()),
                  static_cast<unsigned>(ymd.month()), static_cast<unsigned>(ymd.day()),
                  static_cast<long>(hms.hours().count()));
  }
  return buf;
}

std::int64_t floor_to(std::int64_t ms, std::int64_t unit) {
  return ms >= 0 ? ms - ms % unit : ms - ((ms % unit) + unit) % unit;
}

struct RollupSums {
  std::int64_t requests = 0, errors = 0, prompt = 0, completion = 0, total = 0;
};
using RollupKey = std::tuple<std::int64_t, std::string, std::string, std::string>;

// Adds a batch's sums (one row per group, whatever the batch size) to one rollup table.
Status add_rollup(sqlite3* db, const char* table, const std::map<RollupKey, RollupSums>& sums) {
  const std::string sql =
      std::string("INSERT INTO ") + table +
      " (start_ms, client, model, key_id, requests, errors, prompt_tokens, completion_tokens,"
      " total_tokens) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)"
      " ON CONFLICT (start_ms, client, model, key_id) DO UPDATE SET"
      " requests = requests + excluded.requests, errors = errors + excluded.errors,"
      " prompt_tokens = prompt_tokens + excluded.prompt_tokens,"
      " completion_tokens = completion_tokens + excluded.completion_tokens,"
      " total_tokens = total_tokens + excluded.total_tokens";
  Statement st(db, sql.c_str());
  if (!st.ok()) return store_error(db, "preparing the rollup update");
  for (const auto& [key, s] : sums) {
    st.bind(1, std::get<0>(key));
    st.bind(2, std::get<1>(key));
    st.bind(3, std::get<2>(key));
    st.bind(4, std::get<3>(key));
    st.bind(5, s.requests);
    st.bind(6, s.errors);
    st.bind(7, s.prompt);
    st.bind(8, s.completion);
    st.bind(9, s.total);
    if (st.step() != SQLITE_DONE) return store_error(db, "updating a rollup");
    st.reset();
  }
  return {};
}

}  // namespace

std::optional<GroupBy> parse_group_by(std::string_view text) {
  if (text == "client") return GroupBy::kClient;
  if (text == "model") return GroupBy::kModel;
  if (text == "key") return GroupBy::kKey;
  if (text == "hour") return GroupBy::kHour;
  if (text == "day") return GroupBy::kDay;
  return std::nullopt;
}

Result<std::unique_ptr<Store>> Store::open(const std::string& path, bool read_only) {
  sqlite3* db = nullptr;
  const int flags = read_only ? SQLITE_OPEN_READONLY : SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE;
  if (sqlite3_open_v2(path.c_str(), &db, flags | SQLITE_OPEN_NOMUTEX, nullptr) != SQLITE_OK) {
    Error e = store_error(db, "cannot open " + path);
    sqlite3_close(db);
    return e;
  }
  std::unique_ptr<Store> store(new Store(db));
  // A reader waits for a writer's checkpoint instead of failing at once.
  sqlite3_busy_timeout(db, 5000);
  if (!read_only) {
    // WAL: readers never block the writer nor it them. synchronous=NORMAL: a commit is durable
    // against a process crash (kill -9), and against power loss up to the last checkpoint.
    if (auto s = exec(db, "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;"); !s) {
      return std::move(s).error();
    }
    if (auto s = store->migrate(); !s) return std::move(s).error();
  } else if (store->schema_version() == 0) {
    return Error::not_found("usage store " + path + " holds no usage ledger", "usage_store");
  }
  return store;
}

Store::~Store() {
  sqlite3_close(db_);
}

int Store::latest_schema_version() {
  return static_cast<int>(std::size(kMigrations));
}

int Store::schema_version() const {
  Statement st(db_, "PRAGMA user_version");
  if (!st.ok() || st.step() != SQLITE_ROW) return 0;
  return static_cast<int>(st.int64(0));
}

Status Store::migrate() {
  const int current = schema_version();
  if (current > latest_schema_version()) {
    return Error::internal("usage store: schema version " + std::to_string(current) +
                               " is newer than this gateway's " +
                               std::to_string(latest_schema_version()),
                           "usage_store");
  }
  for (int v = current; v < latest_schema_version(); ++v) {
    // Each migration and its version number commit together.
    const std::string sql = std::string("BEGIN IMMEDIATE;") + kMigrations[v] +
                            "PRAGMA user_version=" + std::to_string(v + 1) + ";COMMIT;";
    if (auto s = exec(db_, sql.c_str()); !s) {
      rollback(db_);
      return s;
    }
  }
  return {};
}

Status Store::append(std::span<const UsageRecord> records) {
  if (records.empty()) return {};
  if (auto s = exec(db_, "BEGIN IMMEDIATE"); !s) return s;
  Statement st(db_,
               "INSERT INTO requests (at_ms, client, route, model, key_id, provider,"
               " prompt_tokens, completion_tokens, total_tokens, tokens_estimated, status,"
               " error_class, latency_ms, ttft_ms, streamed, attempts) VALUES"
               " (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16)");
  if (!st.ok()) {
    rollback(db_);
    return store_error(db_, "preparing the insert");
  }
  std::map<RollupKey, RollupSums> hours, days;
  for (const auto& r : records) {
    st.bind(1, r.at_ms);
    st.bind_lasting(2, r.client);
    st.bind_lasting(3, r.route);
    st.bind_lasting(4, r.model);
    st.bind_lasting(5, r.key_id);
    st.bind_lasting(6, r.provider);
    st.bind(7, r.prompt_tokens);
    st.bind(8, r.completion_tokens);
    st.bind(9, r.total_tokens);
    st.bind(10, std::int64_t{r.tokens_estimated});
    st.bind(11, std::int64_t{r.status});
    st.bind_lasting(12, r.error_class);
    st.bind(13, r.latency_ms);
    if (r.ttft_ms) {
      st.bind(14, *r.ttft_ms);
    } else {
      st.bind_null(14);
    }
    st.bind(15, std::int64_t{r.streamed});
    st.bind(16, std::int64_t{r.attempts});
    if (st.step() != SQLITE_DONE) {
      Error e = store_error(db_, "inserting a record");
      rollback(db_);
      return e;
    }
    st.reset();
    for (auto* rollup : {&hours, &days}) {
      const std::int64_t unit = rollup == &hours ? kHourMs : kDayMs;
      auto& s = (*rollup)[RollupKey{floor_to(r.at_ms, unit), r.client, r.model, r.key_id}];
      s.requests += 1;
      s.errors += r.status >= 400 ? 1 : 0;
      s.prompt += r.prompt_tokens;
      s.completion += r.completion_tokens;
      s.total += r.total_tokens;
    }
  }
  Status s = add_rollup(db_, "rollup_hour", hours);
  if (s) s = add_rollup(db_, "rollup_day", days);
  if (s) s = exec(db_, "COMMIT");
  if (!s) rollback(db_);
  return s;
}

Result<std::int64_t> Store::prune(std::int64_t before_ms) {
  Statement records(db_, "DELETE FROM requests WHERE at_ms < ?1");
  Statement hours(db_, "DELETE FROM rollup_hour WHERE start_ms < ?1");
  if (!records.ok() || !hours.ok()) return store_error(db_, "preparing the pruning");
  records.bind(1, before_ms);
  if (records.step() != SQLITE_DONE) return store_error(db_, "pruning records");
  const std::int64_t deleted = sqlite3_changes(db_);
  hours.bind(1, floor_to(before_ms, kHourMs));
  if (hours.step() != SQLITE_DONE) return store_error(db_, "pruning the hourly rollup");
  return deleted;
}

Result<std::vector<UsageTotals>> Store::totals(std::int64_t from_ms, std::int64_t to_ms,
                                               GroupBy by) const {
  const char* column = "client";
  const char* table = "rollup_hour";
  std::int64_t unit = kHourMs;
  switch (by) {
    case GroupBy::kClient:
      column = "client";
      break;
    case GroupBy::kModel:
      column = "model";
      break;
    case GroupBy::kKey:
      column = "model || '/' || key_id";
      break;
    case GroupBy::kHour:
      column = "start_ms";
      break;
    case GroupBy::kDay:
      column = "start_ms";
      table = "rollup_day";
      unit = kDayMs;
      break;
  }
  const std::string sql = std::string("SELECT ") + column +
                          ", SUM(requests), SUM(errors), SUM(prompt_tokens),"
                          " SUM(completion_tokens), SUM(total_tokens) FROM " +
                          table + " WHERE start_ms >= ?1 AND start_ms < ?2 GROUP BY 1 ORDER BY 1";
  Statement st(db_, sql.c_str());
  if (!st.ok()) return store_error(db_, "preparing the totals");
  st.bind(1, floor_to(from_ms, unit));
  st.bind(2, to_ms);
  std::vector<UsageTotals> out;
  int rc;
  while ((rc = st.step()) == SQLITE_ROW) {
    UsageTotals t;
    if (by == GroupBy::kHour || by == GroupBy::kDay) {
      t.group = iso_group(st.int64(0), by == GroupBy::kDay);
    } else {
      t.group = st.text(0);
    }
    t.requests = st.int64(1);
    t.errors = st.int64(2);
    t.prompt_tokens = st.int64(3);
    t.completion_tokens = st.int64(4);
    t.total_tokens = st.int64(5);
    out.push_back(std::move(t));
  }
  if (rc != SQLITE_DONE) return store_error(db_, "reading the totals");
  return out;
}

// Sums by `column` since `since_ms` from three sources that never overlap: the records of the
// first partial hour, the hourly rollup up to the first whole day, the daily rollup after it
// (never pruned, so a month's budget reads back whatever the retention). `model`: only that
// model's rows; empty: every row.
Result<std::map<std::string, CountSince>> Store::sums_since(const char* column,
                                                            std::string_view model,
                                                            std::int64_t since_ms) const {
  const std::int64_t first_hour = -floor_to(-since_ms, kHourMs);  // since_ms rounded up
  const std::int64_t first_day = -floor_to(-first_hour, kDayMs);
  const std::string filter = model.empty() ? " AND ?3 = ?3" : " AND model = ?3";
  const std::string c = column;
  const std::string sums[] = {
      "SELECT " + c +
          ", COUNT(*), COALESCE(SUM(total_tokens), 0) FROM requests"
          " WHERE at_ms >= ?1 AND at_ms < ?2" +
          filter + " GROUP BY 1",
      "SELECT " + c +
          ", SUM(requests), SUM(total_tokens) FROM rollup_hour"
          " WHERE start_ms >= ?1 AND start_ms < ?2" +
          filter + " GROUP BY 1",
      "SELECT " + c +
          ", SUM(requests), SUM(total_tokens) FROM rollup_day"
          " WHERE start_ms >= ?1 AND start_ms < ?2" +
          filter + " GROUP BY 1",
  };
  const std::int64_t spans[][2] = {{since_ms, first_hour},
                                   {first_hour, first_day},
                                   {first_day, std::numeric_limits<std::int64_t>::max()}};
  std::map<std::string, CountSince> out;
  for (int i = 0; i < 3; ++i) {
    if (spans[i][0] >= spans[i][1]) continue;
    Statement st(db_, sums[i].c_str());
    if (!st.ok()) return store_error(db_, "preparing a count");
    st.bind(1, spans[i][0]);
    st.bind(2, spans[i][1]);
    st.bind(3, model);
    int rc;
    while ((rc = st.step()) == SQLITE_ROW) {
      CountSince& sum = out[st.text(0)];
      sum.requests += st.int64(1);
      sum.tokens += st.int64(2);
    }
    if (rc != SQLITE_DONE) return store_error(db_, "counting");
  }
  return out;
}

Result<std::map<std::string, CountSince>> Store::keys_since(std::string_view model,
                                                            std::int64_t since_ms) const {
  if (model.empty()) return std::map<std::string, CountSince>{};
  return sums_since("key_id", model, since_ms);
}

Result<std::map<std::string, CountSince>> Store::clients_since(std::int64_t since_ms) const {
  return sums_since("client", "", since_ms);
}

Result<std::int64_t> Store::record_count() const {
  Statement st(db_, "SELECT COUNT(*) FROM requests");
  if (!st.ok() || st.step() != SQLITE_ROW) return store_error(db_, "counting records");
  return st.int64(0);
}

Result<std::string> Store::integrity_check() const {
  Statement st(db_, "PRAGMA integrity_check");
  if (!st.ok() || st.step() != SQLITE_ROW) return store_error(db_, "integrity_check");
  return st.text(0);
}

}  // namespace bc::usage
