// The usage store's allowance marks (usage/allowance.h): written by the ledger's writer
// ahead of admission, read back at startup beside the records.
#include <sqlite3.h>

#include "usage/sqlite_util.h"
#include "usage/store.h"

namespace bc::usage {

namespace {

using detail::exec;
using detail::rollback;
using detail::Statement;
using detail::store_error;

Status write_marks(sqlite3* db, std::span<const AllowanceMark> marks, const char* sql) {
  if (marks.empty()) return {};
  if (auto s = exec(db, "BEGIN IMMEDIATE"); !s) return s;
  Statement st(db, sql);
  if (!st.ok()) {
    Error e = store_error(db, "preparing a mark");
    rollback(db);
    return e;
  }
  for (const AllowanceMark& m : marks) {
    st.bind(1, m.scope);
    st.bind(2, m.name);
    st.bind(3, m.period_start_ms);
    st.bind(4, m.requests);
    st.bind(5, m.tokens);
    if (st.step() != SQLITE_DONE) {
      Error e = store_error(db, "writing a mark");
      rollback(db);
      return e;
    }
    st.reset();
  }
  if (auto s = exec(db, "COMMIT"); !s) {
    rollback(db);
    return s;
  }
  return {};
}

}  // namespace

Status Store::raise_marks(std::span<const AllowanceMark> marks) {
  return write_marks(db_, marks,
                     "INSERT INTO allowance (scope, name, period_start_ms, requests, tokens)"
                     " VALUES (?1, ?2, ?3, ?4, ?5)"
                     " ON CONFLICT (scope, name, period_start_ms) DO UPDATE SET"
                     " requests = MAX(requests, excluded.requests),"
                     " tokens = MAX(tokens, excluded.tokens)");
}

Status Store::set_marks(std::span<const AllowanceMark> marks) {
  return write_marks(db_, marks,
                     "INSERT OR REPLACE INTO allowance (scope, name, period_start_ms, requests,"
                     " tokens) VALUES (?1, ?2, ?3, ?4, ?5)");
}

Result<std::map<std::string, CountSince>> Store::marks(std::string_view scope,
                                                       std::int64_t period_start_ms) const {
  Statement st(db_,
               "SELECT name, requests, tokens FROM allowance"
               " WHERE scope = ?1 AND period_start_ms = ?2");
  if (!st.ok()) return store_error(db_, "preparing the marks");
  st.bind(1, scope);
  st.bind(2, period_start_ms);
  std::map<std::string, CountSince> out;
  int rc;
  while ((rc = st.step()) == SQLITE_ROW) out[st.text(0)] = {st.int64(1), st.int64(2)};
  if (rc != SQLITE_DONE) return store_error(db_, "reading the marks");
  return out;
}

Status Store::prune_marks(std::int64_t before_ms) {
  Statement st(db_, "DELETE FROM allowance WHERE period_start_ms < ?1");
  if (!st.ok()) return store_error(db_, "preparing the pruning of marks");
  st.bind(1, before_ms);
  if (st.step() != SQLITE_DONE) return store_error(db_, "pruning marks");
  return {};
}

}  // namespace bc::usage
