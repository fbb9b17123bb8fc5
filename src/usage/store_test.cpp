#include "usage/store.h"

#include <gtest/gtest.h>
#include <sqlite3.h>

#include <filesystem>

namespace bc::usage {
namespace {

constexpr std::int64_t kHour = 3'600'000;
// 2025-01-31T00:00:00Z
constexpr std::int64_t kDay0 = 1'738'281'600'000;

// The schema as the first gateway with a ledger shipped it (migration 1), frozen here.
constexpr const char* kFirstSchema =
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
    " WITHOUT ROWID;";

class StoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("bc_usage_store_" + std::to_string(::getpid()) + "_" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(dir_);
    std::filesystem::create_directories(dir_);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  std::string path() const { return (dir_ / "usage.db").string(); }

  std::filesystem::path dir_;
};

UsageRecord record(std::int64_t at, std::string client, std::string model, std::string key,
                   std::int64_t prompt, std::int64_t completion, int status = 200) {
  UsageRecord r;
  r.at_ms = at;
  r.client = std::move(client);
  r.route = "/v1/chat/completions";
  r.model = std::move(model);
  r.key_id = std::move(key);
  r.provider = "openai";
  r.prompt_tokens = prompt;
  r.completion_tokens = completion;
  r.total_tokens = prompt + completion;
  r.status = status;
  r.error_class = status >= 400 ? "upstream_error" : "";
  return r;
}

TEST_F(StoreTest, CreatesTheSchemaAtTheLatestVersionInWalMode) {
  auto store = Store::open(path());
  ASSERT_TRUE(store) << store.error().message;
  EXPECT_EQ((*store)->schema_version(), Store::latest_schema_version());
  EXPECT_EQ(*(*store)->integrity_check(), "ok");
  // WAL leaves its side file next to the store once something is written.
  ASSERT_TRUE((*store)->append(std::vector{record(kDay0, "a", "m", "k1", 1, 2)}));
  EXPECT_TRUE(std::filesystem::exists(path() + "-wal"));
}

TEST_F(StoreTest, ReopeningKeepsRecordsAndDoesNotMigrateAgain) {
  {
    auto store = Store::open(path());
    ASSERT_TRUE(store);
    ASSERT_TRUE((*store)->append(std::vector{record(kDay0, "a", "m", "k1", 1, 2)}));
  }
  auto store = Store::open(path());
  ASSERT_TRUE(store) << store.error().message;
  EXPECT_EQ(*(*store)->record_count(), 1);
}

TEST_F(StoreTest, ReadOnlyOpenOfAMissingLedgerFails) {
  EXPECT_FALSE(Store::open(path(), true));
}

TEST_F(StoreTest, RollupsSumByGroupAndAgreeWithTheRecords) {
  auto store = Store::open(path());
  ASSERT_TRUE(store);
  std::vector<UsageRecord> batch = {
      record(kDay0 + 10, "alice", "gpt", "k1", 10, 5),
      record(kDay0 + kHour + 10, "alice", "gpt", "k2", 1, 1, 502),
      record(kDay0 + kHour + 20, "bob", "glm", "k1", 3, 4),
      record(kDay0 + 25 * kHour, "bob", "glm", "k1", 100, 0),
  };
  ASSERT_TRUE((*store)->append(batch));
  // A second batch adds to the same rollup rows.
  ASSERT_TRUE((*store)->append(std::vector{record(kDay0 + 30, "alice", "gpt", "k1", 2, 2)}));

  auto by_client = (*store)->totals(kDay0, kDay0 + 2 * 24 * kHour, GroupBy::kClient);
  ASSERT_TRUE(by_client);
  ASSERT_EQ(by_client->size(), 2u);
  EXPECT_EQ((*by_client)[0].group, "alice");
  EXPECT_EQ((*by_client)[0].requests, 3);
  EXPECT_EQ((*by_client)[0].errors, 1);
  EXPECT_EQ((*by_client)[0].total_tokens, 15 + 2 + 4);
  EXPECT_EQ((*by_client)[1].group, "bob");
  EXPECT_EQ((*by_client)[1].prompt_tokens, 103);

  auto by_key = (*store)->totals(kDay0, kDay0 + 2 * 24 * kHour, GroupBy::kKey);
  ASSERT_TRUE(by_key);
  ASSERT_EQ(by_key->size(), 3u);
  EXPECT_EQ((*by_key)[0].group, "glm/k1");

  auto by_hour = (*store)->totals(kDay0, kDay0 + 24 * kHour, GroupBy::kHour);
  ASSERT_TRUE(by_hour);
  ASSERT_EQ(by_hour->size(), 2u);
  EXPECT_EQ((*by_hour)[0].group, "2025-01-31T00:00:00Z");
  EXPECT_EQ((*by_hour)[0].requests, 2);
  EXPECT_EQ((*by_hour)[1].group, "2025-01-31T01:00:00Z");

  auto by_day = (*store)->totals(kDay0, kDay0 + 2 * 24 * kHour, GroupBy::kDay);
  ASSERT_TRUE(by_day);
  ASSERT_EQ(by_day->size(), 2u);
  EXPECT_EQ((*by_day)[0].group, "2025-01-31");
  EXPECT_EQ((*by_day)[0].requests, 4);
  EXPECT_EQ((*by_day)[1].group, "2025-02-01");
  EXPECT_EQ((*by_day)[1].total_tokens, 100);
}

// The read-backs sum three sources: the records of the first partial hour, the hourly rollup
// to the first whole day, the daily rollup after it. A record in each, and one just before.
TEST_F(StoreTest, CountsSinceATimeByKeyAndByClientFromRecordsAndBothRollups) {
  auto store = Store::open(path());
  ASSERT_TRUE(store);
  const std::int64_t since = kDay0 - 5 * kHour - kHour / 2;  // mid-hour, as in UTC+5:30
  ASSERT_TRUE((*store)->append(std::vector{
      record(since - 1, "alice", "gpt", "k1", 50, 50),           // before: not counted
      record(since + 60'000, "alice", "gpt", "k1", 1, 2),        // the partial hour
      record(kDay0 - 2 * kHour, "bob", "gpt", "k1", 3, 4),       // a whole hour
      record(kDay0 + 3 * kHour, "bob", "gpt", "k2", 5, 5),       // a whole day
      record(kDay0 + 30 * kHour, "alice", "other", "k1", 7, 0),  // the next day, another model
  }));
  auto keys = (*store)->keys_since("gpt", since);
  ASSERT_TRUE(keys);
  ASSERT_EQ(keys->size(), 2u);
  EXPECT_EQ((*keys)["k1"].requests, 2);
  EXPECT_EQ((*keys)["k1"].tokens, 10);
  EXPECT_EQ((*keys)["k2"].requests, 1);
  EXPECT_EQ((*keys)["k2"].tokens, 10);
  EXPECT_TRUE((*store)->keys_since("", since)->empty());

  auto clients = (*store)->clients_since(since);
  ASSERT_TRUE(clients);
  EXPECT_EQ((*clients)["alice"].requests, 2);
  EXPECT_EQ((*clients)["alice"].tokens, 10);
  EXPECT_EQ((*clients)["bob"].requests, 2);
  EXPECT_EQ((*clients)["bob"].tokens, 17);
  EXPECT_EQ(clients->count("carol"), 0u);

  // From a whole day on: the daily rollup alone.
  auto from_day = (*store)->keys_since("gpt", kDay0);
  ASSERT_TRUE(from_day);
  EXPECT_EQ(from_day->count("k1"), 0u);
  EXPECT_EQ((*from_day)["k2"].requests, 1);

  // Records and hours pruned: a month's budget still reads back from the daily rollup.
  ASSERT_TRUE((*store)->prune(kDay0 + 29 * kHour));
  auto month = (*store)->clients_since(kDay0);
  ASSERT_TRUE(month);
  EXPECT_EQ((*month)["bob"].tokens, 10);
  EXPECT_EQ((*month)["alice"].tokens, 7);
}

// A store made by the first schema (with the indexes by key and by client) is brought to the
// latest at open, and reads back the same.
TEST_F(StoreTest, TheFirstSchemaIsMigratedAndKeepsItsRecords) {
  {
    sqlite3* db = nullptr;
    ASSERT_EQ(sqlite3_open(path().c_str(), &db), SQLITE_OK);
    ASSERT_EQ(sqlite3_exec(db, kFirstSchema, nullptr, nullptr, nullptr), SQLITE_OK);
    ASSERT_EQ(sqlite3_exec(db,
                           "INSERT INTO requests (at_ms, client, route, model, key_id, provider,"
                           " prompt_tokens, completion_tokens, total_tokens, tokens_estimated,"
                           " status, error_class, latency_ms, streamed, attempts) VALUES"
                           " (1738281600000, 'a', '/r', 'm', 'k', 'p', 1, 2, 3, 0, 200, '', 1, 0,"
                           " 1); PRAGMA user_version=1;",
                           nullptr, nullptr, nullptr),
              SQLITE_OK);
    sqlite3_close(db);
  }
  auto store = Store::open(path());
  ASSERT_TRUE(store) << store.error().message;
  EXPECT_EQ((*store)->schema_version(), Store::latest_schema_version());
  EXPECT_EQ(*(*store)->record_count(), 1);
  {
    sqlite3* db = nullptr;
    ASSERT_EQ(sqlite3_open(path().c_str(), &db), SQLITE_OK);
    sqlite3_stmt* st = nullptr;
    ASSERT_EQ(sqlite3_prepare_v2(db,
                                 "SELECT group_concat(name) FROM sqlite_master WHERE type ="
                                 " 'index' AND tbl_name = 'requests'",
                                 -1, &st, nullptr),
              SQLITE_OK);
    ASSERT_EQ(sqlite3_step(st), SQLITE_ROW);
    EXPECT_STREQ(reinterpret_cast<const char*>(sqlite3_column_text(st, 0)), "requests_at");
    sqlite3_finalize(st);
    sqlite3_close(db);
  }
  ASSERT_TRUE((*store)->append(std::vector{record(kDay0 + 1, "a", "m", "k", 1, 1)}));
  EXPECT_EQ((*store)->keys_since("m", kDay0)->at("k").requests, 1);
}

TEST_F(StoreTest, PruningDropsOldRecordsAndHoursButKeepsDays) {
  auto store = Store::open(path());
  ASSERT_TRUE(store);
  ASSERT_TRUE((*store)->append(std::vector{
      record(kDay0, "a", "m", "k", 1, 1),
      record(kDay0 + 3 * kHour, "a", "m", "k", 1, 1),
  }));
  auto deleted = (*store)->prune(kDay0 + kHour);
  ASSERT_TRUE(deleted);
  EXPECT_EQ(*deleted, 1);
  EXPECT_EQ(*(*store)->record_count(), 1);
  EXPECT_EQ((*store)->totals(kDay0, kDay0 + 24 * kHour, GroupBy::kHour)->size(), 1u);
  EXPECT_EQ((*store)->totals(kDay0, kDay0 + 24 * kHour, GroupBy::kDay)->front().requests, 2);
}

TEST(GroupByTest, ParsesTheFiveGroupings) {
  EXPECT_EQ(parse_group_by("client"), GroupBy::kClient);
  EXPECT_EQ(parse_group_by("day"), GroupBy::kDay);
  EXPECT_FALSE(parse_group_by("week"));
}

}  // namespace
}  // namespace bc::usage
