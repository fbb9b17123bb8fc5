#include "usage/ledger.h"

#include <gtest/gtest.h>

#include <filesystem>

#include "usage/store.h"

namespace bc::usage {
namespace {

class LedgerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("bc_usage_ledger_" + std::to_string(::getpid()) + "_" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(dir_);
    std::filesystem::create_directories(dir_);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  LedgerOptions options() const {
    LedgerOptions o;
    o.path = (dir_ / "usage.db").string();
    o.flush_interval = std::chrono::milliseconds(20);
    return o;
  }

  std::filesystem::path dir_;
};

UsageRecord now_record(int tokens) {
  UsageRecord r;
  r.at_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                std::chrono::system_clock::now().time_since_epoch())
                .count();
  r.client = "c";
  r.model = "m";
  r.key_id = "k";
  r.total_tokens = tokens;
  r.status = 200;
  return r;
}

TEST_F(LedgerTest, EverySubmittedRecordIsWrittenByTheTimeItCloses) {
  const auto o = options();
  {
    auto ledger = Ledger::open(o);
    ASSERT_TRUE(ledger) << ledger.error().message;
    for (int i = 0; i < 1000; ++i) (*ledger)->submit(now_record(i));
  }
  auto store = Store::open(o.path, true);
  ASSERT_TRUE(store);
  EXPECT_EQ(*(*store)->record_count(), 1000);
  EXPECT_EQ((*store)->clients_since(0)->at("c").tokens, 999 * 1000 / 2);
}

TEST_F(LedgerTest, WritesWithinAFlushIntervalWhileRunning) {
  auto o = options();
  auto ledger = Ledger::open(o);
  ASSERT_TRUE(ledger);
  (*ledger)->submit(now_record(1));
  auto store = Store::open(o.path, true);
  ASSERT_TRUE(store);
  for (int i = 0; i < 500 && *(*store)->record_count() == 0; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  EXPECT_EQ(*(*store)->record_count(), 1);
  EXPECT_EQ((*ledger)->written(), 1u);
}

TEST_F(LedgerTest, AFullQueueDropsAndCountsInsteadOfWaiting) {
  auto o = options();
  o.queue_size = 10;
  o.flush_interval = std::chrono::milliseconds(60'000);  // nothing leaves the queue meanwhile
  auto ledger = Ledger::open(o);
  ASSERT_TRUE(ledger);
  for (int i = 0; i < 25; ++i) (*ledger)->submit(now_record(1));
  EXPECT_EQ((*ledger)->queued(), 10u);
  EXPECT_EQ((*ledger)->dropped(), 15u);
}

TEST_F(LedgerTest, OpeningPrunesRecordsPastRetention) {
  auto o = options();
  o.retention_days = 2;
  {
    auto store = Store::open(o.path);
    ASSERT_TRUE(store);
    auto old = now_record(1);
    old.at_ms -= 3LL * 24 * 3'600'000;
    ASSERT_TRUE((*store)->append(std::vector{old, now_record(2)}));
  }
  auto ledger = Ledger::open(o);
  ASSERT_TRUE(ledger);
  auto store = Store::open(o.path, true);
  EXPECT_EQ(*(*store)->record_count(), 1);
}

}  // namespace
}  // namespace bc::usage
