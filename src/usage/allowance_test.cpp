// The allowance marks (usage/allowance.h): their sizing, their table in the store, the
// ledger's writer that raises them ahead of use and writes the exact counts at a clean stop,
// and a budget's grant.
#include "usage/allowance.h"

#include <gtest/gtest.h>

#include <condition_variable>
#include <filesystem>
#include <mutex>

#include "usage/budget.h"
#include "usage/ledger.h"
#include "usage/store.h"

namespace bc::usage {
namespace {

constexpr std::int64_t kH = 3'600'000;
constexpr std::int64_t kJan31 = 1'738'281'600'000;  // 2025-01-31T00:00:00Z

TEST(NextMark, RisesByTheHeadroomOnlyWhenLessThanHalfOfItIsLeft) {
  // Limit 1000: the headroom is at least a 50th, 20.
  EXPECT_EQ(next_mark(1000, 0, 0, 0, 0), 20);
  EXPECT_EQ(next_mark(1000, 5, 0, 20, 0), 20) << "15 left of 20: no write";
  EXPECT_EQ(next_mark(1000, 11, 0, 20, 0), 31) << "9 left: rises to used + 20";
  // Fast use widens it: twice what was used since the writer last looked.
  EXPECT_EQ(next_mark(1000, 100, 60, 110, 0), 220);
  // A request that did not fit asks for room for twice itself.
  EXPECT_EQ(next_mark(1000, 10, 0, 25, 40), 90);
  // Never past the limit, never down, nothing for no limit.
  EXPECT_EQ(next_mark(1000, 990, 50, 995, 0), 1000);
  EXPECT_EQ(next_mark(1000, 990, 0, 1000, 5), 1000);
  EXPECT_EQ(next_mark(0, 50, 50, 7, 0), 7);
  // A small limit still moves one at a time.
  EXPECT_EQ(next_mark(5, 0, 0, 0, 0), 1);
  EXPECT_EQ(next_mark(5, 1, 0, 1, 1), 3);
}

class AllowanceStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("bc_allowance_" + std::to_string(::getpid()) + "_" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(dir_);
    std::filesystem::create_directories(dir_);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  std::string path() const { return (dir_ / "usage.db").string(); }
  std::filesystem::path dir_;
};

TEST_F(AllowanceStoreTest, RaisedMarksKeepTheLargerCountAndSetMarksReplaceThem) {
  auto store = Store::open(path()).value();
  EXPECT_EQ(store->schema_version(), Store::latest_schema_version());
  ASSERT_TRUE(store->raise_marks(
      std::vector<AllowanceMark>{{"key:m", "k1", kJan31, 10, 500}, {"key:m", "k2", kJan31, 3, 0}}));
  ASSERT_TRUE(store->raise_marks(std::vector<AllowanceMark>{{"key:m", "k1", kJan31, 8, 900}}));
  auto marks = store->marks("key:m", kJan31).value();
  ASSERT_EQ(marks.size(), 2u);
  EXPECT_EQ(marks["k1"].requests, 10) << "a mark never falls while raised";
  EXPECT_EQ(marks["k1"].tokens, 900);
  EXPECT_EQ(marks["k2"].requests, 3);
  // Another period or scope is another mark.
  EXPECT_TRUE(store->marks("key:m", kJan31 + 24 * kH).value().empty());
  EXPECT_TRUE(store->marks("client:day", kJan31).value().empty());
  // The exact counts at a clean stop replace them, lower or not.
  ASSERT_TRUE(store->set_marks(std::vector<AllowanceMark>{{"key:m", "k1", kJan31, 4, 120}}));
  EXPECT_EQ(store->marks("key:m", kJan31).value()["k1"].requests, 4);
  // Pruning drops the periods before the given time only.
  ASSERT_TRUE(
      store->raise_marks(std::vector<AllowanceMark>{{"key:m", "k1", kJan31 + 24 * kH, 1, 1}}));
  ASSERT_TRUE(store->prune_marks(kJan31 + kH));
  EXPECT_TRUE(store->marks("key:m", kJan31).value().empty());
  EXPECT_EQ(store->marks("key:m", kJan31 + 24 * kH).value().size(), 1u);
}

// A source that wants one mark per call until told to stop, and records what was granted.
class TestSource : public AllowanceSource {
 public:
  std::vector<AllowanceMark> wanted(std::int64_t) override {
    std::lock_guard lock(mutex);
    ++asked;
    if (next_requests == granted_requests) return {};
    return {{"key:m", "k", kJan31, next_requests, 0}};
  }
  void granted(const std::vector<AllowanceMark>& marks, std::int64_t) override {
    std::lock_guard lock(mutex);
    for (const auto& m : marks) granted_requests = m.requests;
    changed.notify_all();
  }
  std::vector<AllowanceMark> exact(std::int64_t) override {
    std::lock_guard lock(mutex);
    return {{"key:m", "k", kJan31, exact_requests, 0}};
  }
  std::mutex mutex;
  std::condition_variable changed;
  int asked = 0;
  std::int64_t next_requests = 0;
  std::int64_t granted_requests = 0;
  std::int64_t exact_requests = 0;
};

TEST_F(AllowanceStoreTest, TheWriterRaisesMarksWhenAskedAndWritesTheExactCountsAtClose) {
  LedgerOptions options;
  options.path = path();
  options.flush_interval = std::chrono::seconds(30);  // only want_allowance() can wake it soon
  auto ledger = Ledger::open(options).value();
  auto source = std::make_shared<TestSource>();
  {
    std::lock_guard lock(source->mutex);
    source->next_requests = 7;
  }
  ledger->set_allowance_source(source);  // asks at once
  {
    std::unique_lock lock(source->mutex);
    ASSERT_TRUE(source->changed.wait_for(lock, std::chrono::seconds(10),
                                         [&] { return source->granted_requests == 7; }));
    source->next_requests = 12;
  }
  ledger->want_allowance();
  {
    std::unique_lock lock(source->mutex);
    ASSERT_TRUE(source->changed.wait_for(lock, std::chrono::seconds(10),
                                         [&] { return source->granted_requests == 12; }));
    source->exact_requests = 9;
  }
  // Granted only once durable: another connection reads it.
  EXPECT_EQ(Store::open(path(), true).value()->marks("key:m", kJan31).value()["k"].requests, 12);
  ledger->close();
  EXPECT_EQ(Store::open(path(), true).value()->marks("key:m", kJan31).value()["k"].requests, 9);
  ledger->close();  // idempotent
  EXPECT_EQ(ledger->marks_failed(), 0u);
}

TEST(BudgetGrant, AGatedBudgetStaysInsideItsGrantAndSaysSoAsPending) {
  Budget b({.requests_per_day = 100, .tokens_per_month = 10'000});
  b.gate();
  const std::int64_t wall = kJan31 + kH;
  auto pending = b.take(wall, 10);
  ASSERT_TRUE(pending);
  EXPECT_TRUE(pending->pending) << "no grant yet";
  EXPECT_EQ(b.use(wall).requests_today, 0);
  EXPECT_TRUE(b.granted().blocked);
  BudgetGrant day;
  day.day_start_ms = b.day_start(wall);
  day.requests_today = 2;
  b.grant(wall, day);
  EXPECT_TRUE(b.take(wall, 10)->pending) << "the month has no grant yet";
  BudgetGrant month;
  month.month_start_ms = b.month_start(wall);
  month.tokens_this_month = 25;
  b.grant(wall, month);
  EXPECT_FALSE(b.take(wall, 10));
  EXPECT_FALSE(b.take(wall, 10));
  auto third = b.take(wall, 1);
  ASSERT_TRUE(third);
  EXPECT_TRUE(third->pending) << "two requests granted for the day";
  EXPECT_EQ(b.granted().wanted_tokens, 1);
  // The budget itself still refuses for real at its limit, grant or not.
  Budget small({.requests_per_day = 1});
  small.gate();
  BudgetGrant g;
  g.day_start_ms = small.day_start(wall);
  g.requests_today = 1;
  small.grant(wall, g);
  EXPECT_FALSE(small.take(wall, 0));
  auto over = small.take(wall, 0);
  ASSERT_TRUE(over);
  EXPECT_FALSE(over->pending);
  EXPECT_EQ(over->budget, "requests_per_day");
}

}  // namespace
}  // namespace bc::usage
