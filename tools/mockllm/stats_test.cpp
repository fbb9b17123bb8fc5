#include "mockllm/stats.h"

#include <gtest/gtest.h>

#include <boost/json.hpp>

namespace bc::mockllm {
namespace {

using namespace std::chrono_literals;

TEST(Stats, CountsRequestsInFlightAndOutcomesPerKeyName) {
  const TimePoint origin{};
  Stats stats(origin);
  auto& a1 = stats.start("a", origin + 10ms);
  auto& a2 = stats.start("a", origin + 20ms);
  auto& b = stats.start("b", origin + 30ms);
  EXPECT_EQ(stats.find("a")->in_flight, 2);
  stats.finish(a1, true);
  stats.finish(a2, false);
  stats.finish(b, true);
  auto& a3 = stats.start("a", origin + 40ms);
  stats.finish(a3, true);

  const auto* a = stats.find("a");
  ASSERT_NE(a, nullptr);
  EXPECT_EQ(a->requests, 3u);
  EXPECT_EQ(a->in_flight, 0);
  EXPECT_EQ(a->max_in_flight, 2);
  EXPECT_EQ(a->completed, 2u);
  EXPECT_EQ(a->client_closed, 1u);
  EXPECT_EQ(a->starts_ms, (std::deque<std::int64_t>{10, 20, 40}));
  EXPECT_EQ(stats.find("b")->max_in_flight, 1);
}

TEST(Stats, KeepsOnlyTheLastStarts) {
  const TimePoint origin{};
  Stats stats(origin);
  for (std::size_t i = 0; i < Stats::kMaxStarts + 5; ++i) {
    stats.finish(stats.start("k", origin + std::chrono::milliseconds(i)), true);
  }
  const auto* k = stats.find("k");
  EXPECT_EQ(k->requests, Stats::kMaxStarts + 5);
  ASSERT_EQ(k->starts_ms.size(), Stats::kMaxStarts);
  EXPECT_EQ(k->starts_ms.front(), 5);
}

TEST(Stats, ResetForgetsFinishedKeysAndKeepsRequestsStillInFlight) {
  const TimePoint origin{};
  Stats stats(origin);
  stats.finish(stats.start("done", origin), true);
  auto& running = stats.start("busy", origin);
  stats.start("busy", origin);  // a second one still running
  stats.finish(running, true);

  stats.reset();
  EXPECT_EQ(stats.find("done"), nullptr);
  const auto* busy = stats.find("busy");
  ASSERT_NE(busy, nullptr);
  EXPECT_EQ(busy->requests, 1u);
  EXPECT_EQ(busy->in_flight, 1);
  EXPECT_EQ(busy->completed, 0u);

  // The request that outlived the reset settles on the kept entry.
  stats.finish(running, false);
  EXPECT_EQ(busy->in_flight, 0);
  EXPECT_EQ(busy->client_closed, 1u);
}

TEST(Stats, SerializesKeysAndOpenConnections) {
  const TimePoint origin{};
  Stats stats(origin);
  stats.connection_opened();
  stats.connection_opened();
  stats.connection_closed();
  stats.finish(stats.start("k1", origin + 7ms), true);

  const auto doc = boost::json::parse(stats.to_json()).as_object();
  EXPECT_EQ(doc.at("connections_open").as_int64(), 1);
  const auto& k1 = doc.at("keys").at("k1").as_object();
  EXPECT_EQ(k1.at("requests"), 1);
  EXPECT_EQ(k1.at("in_flight"), 0);
  EXPECT_EQ(k1.at("max_in_flight").as_int64(), 1);
  EXPECT_EQ(k1.at("completed"), 1);
  EXPECT_EQ(k1.at("client_closed"), 0);
  EXPECT_EQ(k1.at("starts_ms").as_array(), boost::json::array({7}));
}

TEST(Stats, CountsIssuedTokensApartFromRequestsUntilReset) {
  Stats stats(TimePoint{});
  stats.token_issued("b1");
  stats.token_issued("b1");
  const auto doc = boost::json::parse(stats.to_json());
  EXPECT_EQ(doc.at("keys").at("b1").at("tokens_issued"), 2);
  EXPECT_EQ(doc.at("keys").at("b1").at("requests"), 0);
  stats.reset();
  EXPECT_EQ(stats.find("b1"), nullptr);
}

TEST(Stats, CountsABodyThatReachedTheSameKeyTwice) {
  Stats stats(TimePoint{});
  KeyStats& a = stats.start("a", TimePoint{});
  Stats::body(a, R"({"messages":[{"role":"user","content":"one"}]})");
  Stats::body(a, R"({"messages":[{"role":"user","content":"two"}]})");
  EXPECT_EQ(a.repeats, 0u);
  Stats::body(a, R"({"messages":[{"role":"user","content":"one"}]})");
  EXPECT_EQ(a.repeats, 1u);
  KeyStats& b = stats.start("b", TimePoint{});
  Stats::body(b, R"({"messages":[{"role":"user","content":"one"}]})");  // another key: fine
  EXPECT_EQ(b.repeats, 0u);
  EXPECT_NE(stats.to_json().find(R"("repeats":1)"), std::string::npos) << stats.to_json();
  stats.finish(a, true);
  stats.finish(b, true);
  stats.reset();
  KeyStats& again = stats.start("a", TimePoint{});
  Stats::body(again, R"({"messages":[{"role":"user","content":"one"}]})");
  EXPECT_EQ(again.repeats, 0u);
}

}  // namespace
}  // namespace bc::mockllm
