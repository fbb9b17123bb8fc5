#include "telemetry/live_stats.h"

#include <thread>
#include <vector>

#include <gtest/gtest.h>

namespace bc::telemetry {
namespace {

using std::chrono::milliseconds;

TEST(LiveStats, BucketsAndQuantilesFollowTheLatencies) {
  EXPECT_EQ(latency_bucket(milliseconds(0)), 0u);
  EXPECT_EQ(latency_bucket(milliseconds(1)), 0u);
  EXPECT_EQ(latency_bucket(std::chrono::hours(1)), kLatencyBuckets - 1);
  std::array<std::uint64_t, kLatencyBuckets> counts{};
  EXPECT_FALSE(bucket_quantile_ms(counts, 0.5));
  for (int i = 0; i < 90; ++i) ++counts[latency_bucket(milliseconds(100))];
  for (int i = 0; i < 10; ++i) ++counts[latency_bucket(milliseconds(2000))];
  // Within the bucket holding the value: bounds 1.5 apart.
  EXPECT_GT(*bucket_quantile_ms(counts, 0.5), 100 / 1.5);
  EXPECT_LE(*bucket_quantile_ms(counts, 0.5), 100 * 1.5);
  EXPECT_GT(*bucket_quantile_ms(counts, 0.95), 2000 / 1.5);
  EXPECT_LE(*bucket_quantile_ms(counts, 0.95), 2000 * 1.5);
}

TEST(LiveStats, OneSampleASecondHoldsThatSecondsRequestsAndErrors) {
  LiveStats stats;
  auto* m = stats.model("m");
  EXPECT_EQ(stats.model("m"), m);  // bound once, found again by name
  for (int i = 0; i < 10; ++i) stats.record(m, i < 3, milliseconds(50));
  stats.record(nullptr, true, milliseconds(1));  // no model reached: in the series only
  stats.sample(100);
  stats.record(m, false, milliseconds(50));
  stats.sample(101);
  stats.sample(101);  // the same second again: ignored
  stats.sample(102);  // nothing happened
  const auto series = stats.series();
  ASSERT_EQ(series.size(), 3u);
  EXPECT_EQ(series[0].unix_s, 100);
  EXPECT_EQ(series[0].requests, 11u);
  EXPECT_EQ(series[0].errors, 4u);
  EXPECT_EQ(series[1].requests, 1u);
  EXPECT_EQ(series[1].errors, 0u);
  ASSERT_TRUE(series[1].p50_ms);
  EXPECT_NEAR(*series[1].p50_ms, 50, 25);
  EXPECT_EQ(series[2].requests, 0u);
  EXPECT_FALSE(series[2].p50_ms);
}

TEST(LiveStats, TheSeriesKeepsTheLast900SecondsInAFixedRing) {
  LiveStats stats;
  auto* m = stats.model("m");
  for (int s = 1; s <= 1000; ++s) {
    stats.record(m, false, milliseconds(10));
    stats.sample(s);
  }
  const auto series = stats.series();
  ASSERT_EQ(series.size(), LiveStats::kSeriesSeconds);
  EXPECT_EQ(series.front().unix_s, 101);
  EXPECT_EQ(series.back().unix_s, 1000);
  for (const auto& s : series) EXPECT_EQ(s.requests, 1u);
}

TEST(LiveStats, ModelFiguresCoverTheLastMinuteAndTheRateTheLastSeconds) {
  LiveStats stats;
  auto* m = stats.model("m");
  // 2 minutes of 4 requests a second, 1 of them failing; then 5 s of 10 a second.
  std::int64_t s = 0;
  for (; s < 120; ++s) {
    for (int i = 0; i < 4; ++i) stats.record(m, i == 0, milliseconds(200));
    stats.sample(s);
  }
  for (; s < 125; ++s) {
    for (int i = 0; i < 10; ++i) stats.record(m, false, milliseconds(200));
    stats.first_token(*m, milliseconds(30));
    stats.sample(s);
  }
  const auto t = stats.model_traffic("m");
  EXPECT_DOUBLE_EQ(t.requests_per_s, 10);
  EXPECT_EQ(t.requests, 55u * 4 + 5 * 10);
  EXPECT_NEAR(t.error_rate, 55.0 / (55 * 4 + 50), 1e-9);
  ASSERT_TRUE(t.p50_ms && t.p95_ms && t.ttft_p50_ms);
  EXPECT_NEAR(*t.p50_ms, 200, 100);
  EXPECT_NEAR(*t.ttft_p50_ms, 30, 15);
  const auto none = stats.model_traffic("unknown");
  EXPECT_EQ(none.requests, 0u);
  EXPECT_FALSE(none.p50_ms);
}

TEST(LiveStats, KeepsTheLatestErrorsNewestFirst) {
  LiveStats stats;
  for (int i = 0; i < 60; ++i) {
    stats.error({.unix_ms = i,
                 .model = "m",
                 .key = "k",
                 .error_class = "upstream",
                 .status = 502,
                 .message = "e" + std::to_string(i)});
  }
  const auto errors = stats.errors();
  ASSERT_EQ(errors.size(), LiveStats::kMaxErrors);
  EXPECT_EQ(errors.front().message, "e59");
  EXPECT_EQ(errors.back().message, "e10");
}

TEST(LiveStats, CountsFromManyThreadsAddUp) {
  LiveStats stats;
  auto* m = stats.model("m");
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 10000; ++i) stats.record(m, i % 10 == 0, milliseconds(i % 300));
    });
  }
  // Samples taken while the threads count lose nothing between them.
  for (int s = 1; s <= 20; ++s) stats.sample(s);
  for (auto& t : threads) t.join();
  stats.sample(21);
  std::uint64_t requests = 0, errors = 0;
  for (const auto& s : stats.series()) {
    requests += s.requests;
    errors += s.errors;
  }
  EXPECT_EQ(requests, 40000u);
  EXPECT_EQ(errors, 4000u);
}

TEST(LiveStats, TheSamplerSamplesEverySecondAndStopsWithTheObject) {
  auto stats = std::make_unique<LiveStats>();
  stats->record(stats->model("m"), false, milliseconds(5));
  stats->start_sampler();
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(3);
  while (stats->series().empty() && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(milliseconds(20));
  }
  const auto series = stats->series();
  ASSERT_FALSE(series.empty());
  EXPECT_EQ(series[0].requests, 1u);
  const auto started = std::chrono::steady_clock::now();
  stats.reset();  // wakes and joins the thread without waiting for its next second
  EXPECT_LT(std::chrono::steady_clock::now() - started, milliseconds(500));
}

}  // namespace
}  // namespace bc::telemetry
