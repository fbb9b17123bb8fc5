// Shared limits in a real redis-server: a concurrency cap held across two instances' links,
// leases that expire unless renewed, an exact QPS window, a cooldown, a breaker held open, a
// quarantine and a lowered concurrency one instance sets for all, and a Redis that lost the
// script.
#include "state/shared_limits.h"

#include <gtest/gtest.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "state/redis_test_server.h"

namespace bc::state {
namespace {

namespace asio = boost::asio;
using namespace std::chrono_literals;
using Outcome = SharedAdmission::Outcome;
using testing::RedisServer;
using testing::run;

asio::awaitable<std::unique_ptr<RedisLink>> link_to(RedisServer& server) {
  config::RedisEndpoint e;
  e.port = server.port();
  auto executor = co_await asio::this_coro::executor;
  auto link = co_await RedisLink::connect(executor, e, 1000ms);
  if (!link) throw std::runtime_error(link.error().message);
  co_return std::move(link).value();
}

asio::awaitable<void> pause(std::chrono::milliseconds d) {
  asio::steady_timer timer(co_await asio::this_coro::executor, d);
  co_await timer.async_wait(asio::use_awaitable);
}

asio::awaitable<SharedAdmission> admit(SharedLimitsClient& client, SharedLimits limits) {
  std::string key = "m:k1";
  auto r = co_await client.admit(std::move(key), limits);
  if (!r) throw std::runtime_error(r.error().message);
  co_return std::move(r).value();
}

asio::awaitable<void> concurrency_across_instances(RedisServer& server) {
  auto link_a = co_await link_to(server);
  auto link_b = co_await link_to(server);
  SharedLimitsClient a(*link_a, "t:", "a", 10s);
  SharedLimitsClient b(*link_b, "t:", "b", 10s);
  const SharedLimits limits{.max_concurrency = 3};
  auto first = co_await admit(a, limits);
  auto second = co_await admit(b, limits);
  auto third = co_await admit(a, limits);
  EXPECT_EQ(third.outcome, Outcome::kAdmitted);
  EXPECT_EQ(third.in_flight, 3);
  auto fourth = co_await admit(b, limits);
  EXPECT_EQ(fourth.outcome, Outcome::kConcurrencyFull);
  EXPECT_EQ(fourth.in_flight, 3);
  EXPECT_TRUE(fourth.lease.empty());
  // A release from A frees a slot for B; the release is not waited for, but B's admission
  // is sent after it on... another link, so wait for A's link to have delivered it.
  EXPECT_TRUE(a.release("m:k1", first.lease));
  co_await pause(20ms);
  auto fifth = co_await admit(b, limits);
  EXPECT_EQ(fifth.outcome, Outcome::kAdmitted);
  EXPECT_NE(second.lease, fifth.lease);
}

TEST(SharedLimits, ConcurrencyIsHeldAcrossInstances) {
  RedisServer server;
  run(&concurrency_across_instances, server);
}

asio::awaitable<void> leases_expire_unless_renewed(RedisServer& server) {
  auto link = co_await link_to(server);
  SharedLimitsClient client(*link, "t:", "a", 300ms);
  const SharedLimits limits{.max_concurrency = 2};
  auto kept = co_await admit(client, limits);
  auto abandoned = co_await admit(client, limits);
  EXPECT_EQ(abandoned.outcome, Outcome::kAdmitted);
  // `kept` is renewed as a running request would; `abandoned` is left as a crashed
  // instance leaves it.
  for (int i = 0; i < 5; ++i) {
    co_await pause(100ms);
    EXPECT_TRUE(client.renew("m:k1", kept.lease));
  }
  auto after = co_await admit(client, limits);
  EXPECT_EQ(after.outcome, Outcome::kAdmitted) << "the abandoned lease should have expired";
  auto full = co_await admit(client, limits);
  EXPECT_EQ(full.outcome, Outcome::kConcurrencyFull) << "the renewed lease should be alive";
}

TEST(SharedLimits, LeasesExpireUnlessRenewed) {
  RedisServer server;
  run(&leases_expire_unless_renewed, server);
}

asio::awaitable<void> cooldown_is_shared(RedisServer& server) {
  auto link_a = co_await link_to(server);
  auto link_b = co_await link_to(server);
  SharedLimitsClient a(*link_a, "t:", "a", 10s);
  SharedLimitsClient b(*link_b, "t:", "b", 10s);
  const SharedLimits limits{.max_concurrency = 5};
  // A saw a 429 with Retry-After: B is refused until it has passed, with the time left.
  EXPECT_TRUE(a.cool("m:k1", 300ms));
  EXPECT_TRUE(a.cool("m:k1", 100ms));  // a shorter one keeps the longer in place
  co_await pause(20ms);
  auto cooling = co_await admit(b, limits);
  EXPECT_EQ(cooling.outcome, Outcome::kCooling);
  EXPECT_GT(cooling.retry_after, 150ms);
  EXPECT_LE(cooling.retry_after, 300ms);
  EXPECT_TRUE(cooling.lease.empty());
  co_await pause(cooling.retry_after + 10ms);
  auto after = co_await admit(b, limits);
  EXPECT_EQ(after.outcome, Outcome::kAdmitted);
  EXPECT_EQ(after.in_flight, 1);
}

TEST(SharedLimits, CooldownIsSharedAcrossInstances) {
  RedisServer server;
  run(&cooldown_is_shared, server);
}

asio::awaitable<void> health_marks_are_shared(RedisServer& server) {
  auto link_a = co_await link_to(server);
  auto link_b = co_await link_to(server);
  SharedLimitsClient a(*link_a, "t:", "a", 10s);
  SharedLimitsClient b(*link_b, "t:", "b", 10s);
  // A key with no limit at all: only its marks are read, nothing is taken.
  const SharedLimits none{};
  auto free = co_await admit(b, none);
  EXPECT_EQ(free.outcome, Outcome::kAdmitted);
  EXPECT_TRUE(free.lease.empty());
  std::vector<std::string> exists{"EXISTS", "t:lease:m:k1", "t:qps:m:k1"};
  auto taken = co_await link_b->command(std::move(exists));
  EXPECT_TRUE(taken && taken->integer == 0);
  // A's breaker opened: B is refused for the time it has left, limited key or not.
  EXPECT_TRUE(a.open_breaker("m:k1", 300ms));
  EXPECT_TRUE(a.open_breaker("m:k1", 50ms));  // a shorter one keeps the longer in place
  co_await pause(20ms);
  for (const SharedLimits& limits : {none, SharedLimits{.max_concurrency = 5}}) {
    auto open = co_await admit(b, limits);
    EXPECT_EQ(open.outcome, Outcome::kBreakerOpen);
    EXPECT_GT(open.retry_after, 150ms);
    EXPECT_LE(open.retry_after, 300ms);
    EXPECT_TRUE(open.lease.empty());
  }
  // A quarantined the key: B is refused as quarantined (ahead of the breaker's answer).
  EXPECT_TRUE(a.quarantine("m:k1", 60s));
  co_await pause(20ms);
  auto quarantined = co_await admit(b, none);
  EXPECT_EQ(quarantined.outcome, Outcome::kQuarantined);
  EXPECT_GT(quarantined.retry_after, 50s);
  // Lifted: the breaker's mark, once passed, leaves the key to everyone again.
  EXPECT_TRUE(b.lift("m:k1"));
  co_await pause(300ms);
  auto after = co_await admit(b, {.max_concurrency = 5});
  EXPECT_EQ(after.outcome, Outcome::kAdmitted);
  EXPECT_EQ(after.in_flight, 1);
}

TEST(SharedLimits, BreakerAndQuarantineAreSharedAcrossInstances) {
  RedisServer server;
  run(&health_marks_are_shared, server);
}

asio::awaitable<void> lowered_concurrency_is_shared(RedisServer& server) {
  auto link_a = co_await link_to(server);
  auto link_b = co_await link_to(server);
  SharedLimitsClient a(*link_a, "t:", "a", 10s);
  SharedLimitsClient b(*link_b, "t:", "b", 10s);
  const SharedLimits limits{.max_concurrency = 3};
  auto first = co_await admit(b, limits);
  EXPECT_FALSE(first.capped);
  // A's upstream said "too many in flight": every instance holds the key at 2, then at 1.
  EXPECT_TRUE(a.lower_concurrency("m:k1", 3, 60s));
  co_await pause(20ms);
  auto second = co_await admit(b, limits);
  EXPECT_EQ(second.outcome, Outcome::kAdmitted);
  EXPECT_TRUE(second.capped);
  auto third = co_await admit(b, limits);
  EXPECT_EQ(third.outcome, Outcome::kConcurrencyFull);
  EXPECT_TRUE(third.capped);
  EXPECT_TRUE(a.lower_concurrency("m:k1", 3, 60s));
  EXPECT_TRUE(a.lower_concurrency("m:k1", 3, 60s));  // never below 1
  co_await pause(20ms);
  std::vector<std::string> get{"GET", "t:cap:m:k1"};
  auto held = co_await link_b->command(std::move(get));
  EXPECT_TRUE(held && held->text == "1");
  // A success (restore) gives the configured 3 back: one more fits beside the two.
  EXPECT_TRUE(b.restore_concurrency("m:k1"));
  co_await pause(20ms);
  auto restored = co_await admit(b, limits);
  EXPECT_EQ(restored.outcome, Outcome::kAdmitted);
  EXPECT_FALSE(restored.capped);
  EXPECT_EQ(restored.in_flight, 3);
}

TEST(SharedLimits, LoweredConcurrencyIsSharedUntilASuccess) {
  RedisServer server;
  run(&lowered_concurrency_is_shared, server);
}

asio::awaitable<void> qps_window(RedisServer& server) {
  auto link = co_await link_to(server);
  SharedLimitsClient client(*link, "t:", "a", 10s);
  const SharedLimits limits{.max_qps = 5};
  for (int i = 0; i < 5; ++i) {
    auto ok = co_await admit(client, limits);
    EXPECT_EQ(ok.outcome, Outcome::kAdmitted);
  }
  auto refused = co_await admit(client, limits);
  EXPECT_EQ(refused.outcome, Outcome::kRateFull);
  EXPECT_GT(refused.retry_after, 0ms);
  EXPECT_LE(refused.retry_after, 1000ms);
  co_await pause(refused.retry_after + 5ms);
  auto again = co_await admit(client, limits);
  EXPECT_EQ(again.outcome, Outcome::kAdmitted);
}

TEST(SharedLimits, QpsIsAnExactOneSecondWindow) {
  RedisServer server;
  run(&qps_window, server);
}

asio::awaitable<void> script_flushed(RedisServer& server) {
  auto link = co_await link_to(server);
  SharedLimitsClient client(*link, "t:", "a", 10s);
  auto first = co_await admit(client, {.max_concurrency = 5});
  EXPECT_EQ(first.outcome, Outcome::kAdmitted);
  std::vector<std::string> flush{"SCRIPT", "FLUSH"};
  auto flushed = co_await link->command(std::move(flush));
  EXPECT_TRUE(flushed);
  auto second = co_await admit(client, {.max_concurrency = 5});
  EXPECT_EQ(second.outcome, Outcome::kAdmitted);
  EXPECT_EQ(second.in_flight, 2);
  // The keys carry the prefix, so gateways with other prefixes do not share them.
  std::vector<std::string> count{"ZCARD", "t:lease:m:k1"};
  auto leases = co_await link->command(std::move(count));
  EXPECT_TRUE(leases);
  if (leases) {
    EXPECT_EQ(leases->integer, 2);
  }
}

TEST(SharedLimits, ARedisThatLostTheScriptGetsItAgain) {
  RedisServer server;
  run(&script_flushed, server);
}

TEST(SharedLimits, RateWindowNeverAllowsMoreThanTheRate) {
  EXPECT_EQ(rate_window_for(0).admissions, 0);
  EXPECT_EQ(rate_window_for(5).admissions, 5);
  EXPECT_EQ(rate_window_for(5).window_ms, 1000);
  EXPECT_EQ(rate_window_for(2.5).admissions, 2);
  EXPECT_EQ(rate_window_for(0.5).admissions, 1);
  EXPECT_EQ(rate_window_for(0.5).window_ms, 2000);
}

TEST(SharedLimits, ScriptShaIsRedisOwn) {
  // Redis names a script by the SHA-1 of its text: SCRIPT LOAD "return 1".
  EXPECT_EQ(script_sha1("return 1"), "e0e1f9fabfc9d4800c877a703b823ac0578ff8db");
}

}  // namespace
}  // namespace bc::state
