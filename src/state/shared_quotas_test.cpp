// rpm, tpm, rpd and tpd in a real redis-server: taken across two instances' links in the same
// admission script, refusals that take nothing, reserved tokens settled with the real use by
// the release, each quota day counted apart, and a client's budgets taken and settled.
#include <gtest/gtest.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "state/redis_test_server.h"
#include "state/shared_limits.h"

namespace bc::state {
namespace {

namespace asio = boost::asio;
using namespace std::chrono_literals;
using Outcome = SharedAdmission::Outcome;
using testing::RedisServer;
using testing::run;

constexpr std::int64_t kDay = 1'700'000'000'000;  // a quota day's start (Unix ms)

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

asio::awaitable<SharedAdmission> admit(SharedLimitsClient& client, SharedLimits limits,
                                       SharedDemand demand = {}) {
  std::string key = "m:k1";
  auto r = co_await client.admit(std::move(key), limits, demand);
  if (!r) throw std::runtime_error(r.error().message);
  co_return std::move(r).value();
}

// A command's integer answer (or a bulk string's number), -1 when there is none.
// (Named arguments: GCC 12 mishandles non-trivial temporaries in a co_await's call.)
asio::awaitable<long long> number(RedisLink& link, std::vector<std::string> command) {
  auto answer = co_await link.command(std::move(command));
  if (!answer) co_return -1;
  if (answer->type == RedisReply::Type::kInteger) co_return answer->integer;
  if (answer->type == RedisReply::Type::kString) co_return std::stoll(answer->text);
  co_return -1;
}

asio::awaitable<void> rpm_across_instances(RedisServer& server) {
  auto link_a = co_await link_to(server);
  auto link_b = co_await link_to(server);
  SharedLimitsClient a(*link_a, "t:", "a", 10s);
  SharedLimitsClient b(*link_b, "t:", "b", 10s);
  const SharedLimits limits{.rpm = 4};
  for (int i = 0; i < 4; ++i) {
    auto ok = co_await admit(i % 2 == 0 ? a : b, limits);
    EXPECT_EQ(ok.outcome, Outcome::kAdmitted) << i;
    EXPECT_GT(ok.second, 0);
  }
  auto refused = co_await admit(a, limits);
  EXPECT_EQ(refused.outcome, Outcome::kRateFull);
  // The first second counted leaves the minute after 60 to 61 s.
  EXPECT_GT(refused.retry_after, 59s);
  EXPECT_LE(refused.retry_after, 61s);
  EXPECT_TRUE(refused.lease.empty());
  auto also = co_await admit(b, limits);
  EXPECT_EQ(also.outcome, Outcome::kRateFull);
  // Refusals took nothing: the window holds the four admitted.
  std::vector<std::string> values{"HVALS", a.rpm_key("m:k1")};
  auto held = co_await link_a->command(std::move(values));
  long long sum = 0;
  if (held) {
    for (const auto& v : held->elements) sum += std::stoll(v.text);
  }
  EXPECT_EQ(sum, 4);
}

TEST(SharedQuotas, RpmIsHeldAcrossInstances) {
  RedisServer server;
  run(&rpm_across_instances, server);
}

asio::awaitable<void> tpm_reserves_and_settles(RedisServer& server) {
  auto link = co_await link_to(server);
  SharedLimitsClient client(*link, "t:", "a", 10s);
  const SharedLimits limits{.tpm = 1000};
  auto first = co_await admit(client, limits, {.tokens = 600});
  EXPECT_EQ(first.outcome, Outcome::kAdmitted);
  // 600 reserved: 500 more do not fit, and nothing of the refused one is counted.
  auto second = co_await admit(client, limits, {.tokens = 500});
  EXPECT_EQ(second.outcome, Outcome::kRateFull);
  EXPECT_GT(second.retry_after, 59s);
  // The first used 100 tokens in truth: the release gives the other 500 back.
  EXPECT_TRUE(client.settle("m:k1", first.lease, {first.second, 0, 100 - 600, true}));
  auto third = co_await admit(client, limits, {.tokens = 500});
  EXPECT_EQ(third.outcome, Outcome::kAdmitted);
  // It used more than it reserved: the window counts the real 700, 100 + 700 of 1000.
  EXPECT_TRUE(client.settle("m:k1", third.lease, {third.second, 0, 700 - 500, true}));
  auto fourth = co_await admit(client, limits, {.tokens = 201});
  EXPECT_EQ(fourth.outcome, Outcome::kRateFull);
  auto fifth = co_await admit(client, limits, {.tokens = 200});
  EXPECT_EQ(fifth.outcome, Outcome::kAdmitted);
}

TEST(SharedQuotas, TpmReservesTheEstimateAndSettlesTheRealUse) {
  RedisServer server;
  run(&tpm_reserves_and_settles, server);
}

asio::awaitable<void> rpd_per_day(RedisServer& server) {
  auto link_a = co_await link_to(server);
  auto link_b = co_await link_to(server);
  SharedLimitsClient a(*link_a, "t:", "a", 10s);
  SharedLimitsClient b(*link_b, "t:", "b", 10s);
  const SharedLimits limits{.max_concurrency = 10, .rpd = 5};
  const SharedDemand today{.tokens = 10, .day_start_ms = kDay, .day_ttl_ms = 60'000};
  for (int i = 0; i < 5; ++i) {
    auto ok = co_await admit(i % 2 == 0 ? a : b, limits, today);
    EXPECT_EQ(ok.outcome, Outcome::kAdmitted) << i;
  }
  auto sixth = co_await admit(b, limits, today);
  EXPECT_EQ(sixth.outcome, Outcome::kQuotaFull);
  EXPECT_TRUE(sixth.day_used_up);
  // Refused by the quota, it took no concurrency slot either.
  std::vector<std::string> zcard{"ZCARD", a.leases_key("m:k1")};
  const long long leases = co_await number(*link_a, std::move(zcard));
  EXPECT_EQ(leases, 5);
  // The next quota day has counters of its own.
  const SharedDemand tomorrow{
      .tokens = 10, .day_start_ms = kDay + 86'400'000, .day_ttl_ms = 60'000};
  auto next = co_await admit(a, limits, tomorrow);
  EXPECT_EQ(next.outcome, Outcome::kAdmitted);
  std::vector<std::string> hget{"HGET", a.day_key("m:k1", kDay), "r"};
  const long long requests = co_await number(*link_a, std::move(hget));
  EXPECT_EQ(requests, 5);
  // The day's counters expire (here after the 60 s given), never kept for good.
  std::vector<std::string> pttl{"PTTL", a.day_key("m:k1", kDay)};
  const long long ttl = co_await number(*link_a, std::move(pttl));
  EXPECT_GT(ttl, 0);
  EXPECT_LE(ttl, 60'000);
}

TEST(SharedQuotas, RpdCountsEachQuotaDayAcrossInstances) {
  RedisServer server;
  run(&rpd_per_day, server);
}

asio::awaitable<void> tpd_settles(RedisServer& server) {
  auto link = co_await link_to(server);
  SharedLimitsClient client(*link, "t:", "a", 10s);
  const SharedLimits limits{.tpd = 1000};
  const SharedDemand big{.tokens = 800, .day_start_ms = kDay, .day_ttl_ms = 60'000};
  auto first = co_await admit(client, limits, big);
  EXPECT_EQ(first.outcome, Outcome::kAdmitted);
  // 800 reserved: another 800 does not fit, but the day is not used up.
  auto second = co_await admit(client, limits, big);
  EXPECT_EQ(second.outcome, Outcome::kQuotaFull);
  EXPECT_FALSE(second.day_used_up);
  // The first used 50: settled, the day holds 50 and the second fits.
  EXPECT_TRUE(client.settle("m:k1", first.lease, {first.second, kDay, 50 - 800, false}));
  auto third = co_await admit(client, limits, big);
  EXPECT_EQ(third.outcome, Outcome::kAdmitted);
  std::vector<std::string> hget{"HGET", client.day_key("m:k1", kDay), "t"};
  const long long tokens = co_await number(*link, std::move(hget));
  EXPECT_EQ(tokens, 850);
  // Used up to the token: the day is done for every request.
  EXPECT_TRUE(client.settle("m:k1", third.lease, {third.second, kDay, 950 - 800, false}));
  auto fourth =
      co_await admit(client, limits, {.tokens = 1, .day_start_ms = kDay, .day_ttl_ms = 60'000});
  EXPECT_EQ(fourth.outcome, Outcome::kQuotaFull);
  EXPECT_TRUE(fourth.day_used_up);
}

TEST(SharedQuotas, TpdReservesAndSettlesInItsDay) {
  RedisServer server;
  run(&tpd_settles, server);
}

asio::awaitable<void> settle_frees_lease(RedisServer& server) {
  auto link = co_await link_to(server);
  SharedLimitsClient client(*link, "t:", "a", 10s);
  const SharedLimits limits{.max_concurrency = 1, .tpm = 100};
  auto first = co_await admit(client, limits, {.tokens = 10});
  EXPECT_EQ(first.outcome, Outcome::kAdmitted);
  auto full = co_await admit(client, limits, {.tokens = 10});
  EXPECT_EQ(full.outcome, Outcome::kConcurrencyFull);
  // The settling script frees the slot too: one command for the release.
  EXPECT_TRUE(client.settle("m:k1", first.lease, {first.second, 0, 5, true}));
  auto again = co_await admit(client, limits, {.tokens = 10});
  EXPECT_EQ(again.outcome, Outcome::kAdmitted);
  EXPECT_EQ(again.in_flight, 1);
}

TEST(SharedQuotas, SettlingFreesTheConcurrencySlot) {
  RedisServer server;
  run(&settle_frees_lease, server);
}

asio::awaitable<BudgetOutcome> take(SharedLimitsClient& client, BudgetClaim claim) {
  std::string name = "carol";
  auto r = co_await client.take_budget(std::move(name), claim);
  if (!r) throw std::runtime_error(r.error().message);
  co_return *r;
}

asio::awaitable<void> budgets_across_instances(RedisServer& server) {
  auto link_a = co_await link_to(server);
  auto link_b = co_await link_to(server);
  SharedLimitsClient a(*link_a, "t:", "a", 10s);
  SharedLimitsClient b(*link_b, "t:", "b", 10s);
  const std::int64_t month = kDay - 5 * 86'400'000LL;
  BudgetClaim claim{.requests_per_day = 3,
                    .tokens_per_day = 100,
                    .tokens_per_month = 1000,
                    .tokens = 40,
                    .day_start_ms = kDay,
                    .day_ttl_ms = 60'000,
                    .month_start_ms = month,
                    .month_ttl_ms = 60'000};
  BudgetOutcome got = co_await take(a, claim);
  EXPECT_EQ(got, BudgetOutcome::kTaken);
  got = co_await take(b, claim);
  EXPECT_EQ(got, BudgetOutcome::kTaken);
  // 80 reserved over the two: 40 more would cross tokens_per_day, and takes nothing.
  got = co_await take(a, claim);
  EXPECT_EQ(got, BudgetOutcome::kTokensPerDay);
  // Both used 10 in truth: settled, the day holds 20 and a third fits, then no fourth request.
  EXPECT_TRUE(a.settle_budget("carol", kDay, month, 10 - 40));
  EXPECT_TRUE(b.settle_budget("carol", kDay, month, 10 - 40));
  co_await pause(20ms);  // the settlements travelled on the other links
  got = co_await take(a, claim);
  EXPECT_EQ(got, BudgetOutcome::kTaken);
  got = co_await take(b, claim);
  EXPECT_EQ(got, BudgetOutcome::kRequestsPerDay);
  // Another day, without a daily token budget: the month holds 60 of 1000.
  claim.day_start_ms = kDay + 86'400'000;
  claim.tokens_per_day = 0;
  claim.tokens = 941;
  got = co_await take(b, claim);
  EXPECT_EQ(got, BudgetOutcome::kTokensPerMonth);
  claim.tokens = 940;
  got = co_await take(b, claim);
  EXPECT_EQ(got, BudgetOutcome::kTaken);
}

TEST(SharedQuotas, ClientBudgetsAreCountedAcrossInstances) {
  RedisServer server;
  run(&budgets_across_instances, server);
}

}  // namespace
}  // namespace bc::state
