#include "usage/store.h"

#include <gtest/gtest.h>

#include <filesystem>

namespace bc::usage {
namespace {

constexpr std::int64_t kHour = 3'600'000;
// 2025-01-31T00:00:00Z
constexpr std::int64_t kDay0 = 1'738'281'600'000;

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

TEST_F(StoreTest, CountsSinceATimeForAKeyAndForAClient) {
  auto store = Store::open(path());
  ASSERT_TRUE(store);
  ASSERT_TRUE((*store)->append(std::vector{
      record(kDay0 - 1, "alice", "gpt", "k1", 50, 50),
      record(kDay0, "alice", "gpt", "k1", 1, 2),
      record(kDay0 + 5, "bob", "gpt", "k1", 3, 4),
      record(kDay0 + 6, "bob", "gpt", "k2", 5, 5),
  }));
  auto key = (*store)->key_since("gpt", "k1", kDay0);
  ASSERT_TRUE(key);
  EXPECT_EQ(key->requests, 2);
  EXPECT_EQ(key->tokens, 10);
  auto client = (*store)->client_since("bob", kDay0);
  ASSERT_TRUE(client);
  EXPECT_EQ(client->requests, 2);
  EXPECT_EQ(client->tokens, 17);
  EXPECT_EQ((*store)->client_since("carol", 0)->requests, 0);
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
