#include "gateway/call_plan.h"

#include <gtest/gtest.h>

namespace bc::gateway {
namespace {

using namespace std::chrono_literals;
using balance::Target;

const TimePoint kT0 = TimePoint{} + 1000s;

ModelBudget model(std::size_t keys, int max_retries, std::chrono::milliseconds total = 10s,
                  double weight = 1, bool tools = false) {
  ModelBudget b;
  b.keys = keys;
  b.max_retries = max_retries;
  b.total_timeout = total;
  b.weight = weight;
  b.supports_tools = tools;
  return b;
}

Error server_error() {
  auto e = Error::upstream("upstream answered 500", "upstream_error");
  e.http_status = 502;
  return e;
}

struct Fixture {
  explicit Fixture(std::vector<ModelBudget> m) : models(std::move(m)) {}
  std::vector<ModelBudget> models;
  PlanSettings settings;
  Rng rng{42};

  CallPlan plan(std::optional<std::size_t> named, bool tools = false,
                std::optional<Target> pinned = std::nullopt, TimePoint now = kT0) {
    return CallPlan(models, settings, named, tools, pinned, now);
  }
};

TEST(CallPlan, DeadlineIsTheNamedModelsTotalOrTheLongestOfAny) {
  Fixture f{{model(1, 0, 2s), model(1, 0, 5s)}};
  EXPECT_EQ(f.plan(0).deadline(), kT0 + 2s);
  EXPECT_EQ(f.plan(std::nullopt).deadline(), kT0 + 5s);
  EXPECT_EQ(f.plan(std::nullopt).total(), 5s);
  EXPECT_FALSE(f.plan(0).expired(kT0 + 1999ms));
  EXPECT_TRUE(f.plan(0).expired(kT0 + 2s));
}

TEST(CallPlan, EachKeyOnceWithinMaxRetriesThenNoBudget) {
  Fixture f{{model(3, 1)}};
  auto p = f.plan(0);
  EXPECT_TRUE(p.has_budget());
  EXPECT_TRUE(p.may_try({0, 0}));
  p.started({0, 0});
  auto e = Error::upstream("x", "quota");
  e.key_action = KeyAction::kCooldown;  // not transient: no same-key retry
  p.failed({0, 0}, e, kT0, f.rng);
  EXPECT_FALSE(p.may_try({0, 0}));
  EXPECT_TRUE(p.may_try({0, 1}));
  p.started({0, 1});
  p.failed({0, 1}, e, kT0, f.rng);
  // 1 + max_retries attempts are spent, though key 2 is untried.
  EXPECT_FALSE(p.may_try({0, 2}));
  EXPECT_FALSE(p.has_budget());
  EXPECT_EQ(p.attempts(), 2u);
}

TEST(CallPlan, AnyModelRequestMovesOnToAtMostMaxModelFailoversOtherModels) {
  Fixture f{{model(1, 0), model(1, 0), model(1, 0)}};
  f.settings.max_model_failovers = 1;
  auto p = f.plan(std::nullopt);
  auto e = Error::upstream("x", "quota");
  e.key_action = KeyAction::kCooldown;
  p.started({0, 0});
  p.failed({0, 0}, e, kT0, f.rng);
  EXPECT_TRUE(p.may_try({1, 0}));
  p.started({1, 0});
  p.failed({1, 0}, e, kT0, f.rng);
  EXPECT_FALSE(p.may_try({2, 0}));  // a third model is past the one failover allowed
  EXPECT_FALSE(p.has_budget());
}

TEST(CallPlan, NamedModelNeverMovesToAnotherAndZeroWeightModelsServeOnlyWhenNamed) {
  Fixture f{{model(1, 0), model(1, 0, 10s, /*weight=*/0)}};
  auto named = f.plan(0);
  EXPECT_FALSE(named.may_try({1, 0}));
  auto any = f.plan(std::nullopt);
  EXPECT_TRUE(any.may_try({0, 0}));
  EXPECT_FALSE(any.may_try({1, 0}));
  EXPECT_TRUE(f.plan(1).may_try({1, 0}));
}

TEST(CallPlan, ToolsNeedAModelThatTakesThem) {
  Fixture f{{model(1, 0), model(1, 0, 10s, 1, /*tools=*/true)}};
  EXPECT_FALSE(f.plan(0, true).tools_servable());
  EXPECT_TRUE(f.plan(std::nullopt, true).tools_servable());
  EXPECT_FALSE(f.plan(std::nullopt, true).may_try({0, 0}));
  EXPECT_TRUE(f.plan(std::nullopt, true).may_try({1, 0}));
  EXPECT_TRUE(f.plan(0, false).tools_servable());
}

TEST(CallPlan, ASingleKeyIsRetriedAfterATransientFailureWithBackoffAndJitter) {
  Fixture f{{model(1, 2)}};
  auto p = f.plan(0);
  p.started({0, 0});
  auto e = server_error();
  p.failed({0, 0}, e, kT0, f.rng);
  ASSERT_TRUE(p.same_key_retry());
  EXPECT_EQ(p.same_key_retry()->target, (Target{0, 0}));
  // backoff 100 ms, jitter in [50, 100] ms
  EXPECT_GE(p.same_key_retry()->not_before, kT0 + 50ms);
  EXPECT_LE(p.same_key_retry()->not_before, kT0 + 100ms);
  EXPECT_TRUE(p.may_try({0, 0}));
  EXPECT_TRUE(p.has_budget());
  p.started({0, 0});
  EXPECT_FALSE(p.same_key_retry());  // consumed
  p.failed({0, 0}, e, kT0 + 1s, f.rng);
  ASSERT_TRUE(p.same_key_retry());
  // The second retry waits twice as long: [100, 200] ms.
  EXPECT_GE(p.same_key_retry()->not_before, kT0 + 1s + 100ms);
  EXPECT_LE(p.same_key_retry()->not_before, kT0 + 1s + 200ms);
  p.started({0, 0});
  p.failed({0, 0}, e, kT0 + 2s, f.rng);
  // 1 + max_retries = 3 attempts spent.
  EXPECT_FALSE(p.same_key_retry());
  EXPECT_FALSE(p.has_budget());
  EXPECT_EQ(p.final_error().message, "all 3 attempts failed; the last one: upstream answered 500");
}

TEST(CallPlan, BackoffIsCappedAndNeverReachesPastTheDeadline) {
  Fixture f{{model(1, 10, 3s)}};
  f.settings.backoff = 1000ms;
  f.settings.backoff_max = 1500ms;
  auto p = f.plan(0);
  auto e = server_error();
  p.started({0, 0});
  p.failed({0, 0}, e, kT0, f.rng);
  ASSERT_TRUE(p.same_key_retry());
  p.started({0, 0});
  p.failed({0, 0}, e, kT0 + 1s, f.rng);
  ASSERT_TRUE(p.same_key_retry());
  EXPECT_LE(p.same_key_retry()->not_before, kT0 + 1s + 1500ms);  // 2,000 capped at 1,500
  p.started({0, 0});
  // 2.5 s in, 0.5 s left: a backoff of at least 750 ms would pass the deadline.
  p.failed({0, 0}, e, kT0 + 2500ms, f.rng);
  EXPECT_FALSE(p.same_key_retry());
}

TEST(CallPlan, NoSameKeyRetryForWhatIsNotTransient) {
  Fixture f{{model(1, 3)}};
  auto expect_none = [&](Error e, const char* why) {
    auto p = f.plan(0);
    p.started({0, 0});
    p.failed({0, 0}, e, kT0, f.rng);
    EXPECT_FALSE(p.same_key_retry()) << why;
  };
  auto bad_request = Error::invalid_request("bad", "invalid_request");
  expect_none(bad_request, "a 4xx of the caller");
  auto limited = Error::upstream("slow down", "rate_limited");
  limited.kind = ErrorKind::kRateLimited;
  limited.key_action = KeyAction::kCooldown;
  expect_none(limited, "a 429 cools the key");
  auto refused = Error::upstream("bad key", "invalid_api_key");
  refused.kind = ErrorKind::kAuthentication;
  refused.retryable = false;
  refused.key_action = KeyAction::kDisable;
  expect_none(refused, "a refused key");
  auto cancelled = Error::upstream("cancelled", "cancelled");
  expect_none(cancelled, "a cancelled call");
  auto upstream_4xx = Error::upstream("not found", "upstream_error");
  upstream_4xx.http_status = 404;
  expect_none(upstream_4xx, "an upstream 404");
  auto timeout = Error::timeout("first byte", "first_byte_timeout");
  auto p = f.plan(0);
  p.started({0, 0});
  p.failed({0, 0}, timeout, kT0, f.rng);
  EXPECT_TRUE(p.same_key_retry()) << "a timeout before the first byte is transient";
}

TEST(CallPlan, ADroppedSameKeyRetryLeavesNoBudgetOnASingleKey) {
  Fixture f{{model(1, 3)}};
  auto p = f.plan(0);
  auto e = server_error();
  p.started({0, 0});
  p.failed({0, 0}, e, kT0, f.rng);
  ASSERT_TRUE(p.has_budget());
  p.drop_same_key_retry();
  EXPECT_FALSE(p.may_try({0, 0}));
  EXPECT_FALSE(p.has_budget());
}

TEST(CallPlan, ASameKeyRetryIsDroppedWhenAnotherTargetStarts) {
  Fixture f{{model(2, 2)}};
  auto p = f.plan(0);
  auto e = server_error();
  p.started({0, 0});
  p.failed({0, 0}, e, kT0, f.rng);
  ASSERT_TRUE(p.same_key_retry());
  p.started({0, 1});  // the other key took it: a failover, not a retry
  EXPECT_FALSE(p.same_key_retry());
  EXPECT_FALSE(p.may_try({0, 0}));
}

TEST(CallPlan, AnExpiredDerivedCredentialRetriesTheSameKeyOnceThenDisablesIt) {
  Fixture f{{model(1, 0)}};
  auto p = f.plan(0);
  p.started({0, 0});
  auto expired = Error::upstream("token expired", "token_expired");
  expired.key_action = KeyAction::kRefreshCredential;
  auto first = expired;
  p.failed({0, 0}, first, kT0, f.rng);
  EXPECT_EQ(first.key_action, KeyAction::kNone);
  EXPECT_TRUE(first.retryable);
  EXPECT_TRUE(p.may_try({0, 0}));  // the refreshed attempt does not count
  EXPECT_EQ(p.attempts(), 0u);
  p.started({0, 0});
  auto second = expired;
  p.failed({0, 0}, second, kT0, f.rng);
  EXPECT_EQ(second.key_action, KeyAction::kDisable);
  EXPECT_FALSE(p.has_budget());
}

TEST(CallPlan, AProbeTriesItsOneKeyOnceAndNeverAgain) {
  Fixture f{{model(3, 5)}};
  auto p = f.plan(0, false, Target{0, 1});
  EXPECT_FALSE(p.may_try({0, 0}));
  EXPECT_TRUE(p.may_try({0, 1}));
  p.started({0, 1});
  auto e = server_error();
  p.failed({0, 1}, e, kT0, f.rng);
  EXPECT_FALSE(p.same_key_retry());
  EXPECT_FALSE(p.has_budget());
}

TEST(CallPlan, TimeoutsAreClippedToTheDeadline) {
  Fixture f{{model(1, 0, 2s)}};
  auto p = f.plan(0);
  net::Timeouts t;
  t.connect = 10s;
  t.first_byte = 60s;
  t.idle = 500ms;
  const auto clipped = p.clip(t, kT0 + 1500ms);
  EXPECT_EQ(clipped.connect, 500ms);
  EXPECT_EQ(clipped.first_byte, 500ms);
  EXPECT_EQ(clipped.idle, 500ms);
  EXPECT_EQ(clipped.deadline, kT0 + 2s);
  EXPECT_EQ(p.clip(t, kT0 + 5s).connect, 1ms);  // never zero
}

TEST(CallPlan, FinalAndDeadlineErrors) {
  Fixture f{{model(2, 1, 2s)}};
  auto p = f.plan(0);
  EXPECT_EQ(p.deadline_error().message,
            "the request did not finish within its total timeout of "
            "2000 ms");
  p.started({0, 0});
  auto refused = Error::upstream("key refused", "invalid_api_key");
  refused.kind = ErrorKind::kAuthentication;
  refused.retryable = false;
  p.failed({0, 0}, refused, kT0, f.rng);
  // The upstream refused the gateway's key: a 502 for the caller, never their 401.
  EXPECT_EQ(p.final_error().status(), 502);
  EXPECT_EQ(p.deadline_error().message,
            "the request did not finish within its total timeout of 2000 ms (1 attempt; the "
            "last one: key refused)");
  EXPECT_EQ(p.deadline_error().code, "deadline_exceeded");
  EXPECT_FALSE(p.deadline_error().retryable);
}

}  // namespace
}  // namespace bc::gateway
