#include "balance/breaker.h"

#include <atomic>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "balance/test_support.h"

namespace bc::balance {
namespace {

using testing::at;
using Verdict = Breaker::Verdict;
using State = Breaker::State;

BreakerSettings settings(int failures = 3, double window_s = 10, double open_s = 30) {
  BreakerSettings s;
  s.failures = failures;
  s.window = at(window_s).time_since_epoch();
  s.open_for = at(open_s).time_since_epoch();
  return s;
}

// One request through the breaker: admitted or not, and its verdict recorded.
bool pass(Breaker& b, double t, Verdict v) {
  bool trial = false;
  if (!b.admit(at(t), trial)) return false;
  b.record(trial, v, at(t));
  return true;
}

TEST(Breaker, OpensAfterNFaultsWithinTheWindow) {
  Breaker b(settings(3, 10, 30));
  EXPECT_TRUE(pass(b, 100, Verdict::kFault));
  EXPECT_TRUE(pass(b, 101, Verdict::kFault));
  EXPECT_EQ(b.state(at(101)), State::kClosed);
  EXPECT_TRUE(pass(b, 102, Verdict::kFault));
  EXPECT_EQ(b.state(at(102)), State::kOpen);
  ASSERT_TRUE(b.open_until());
  EXPECT_EQ(*b.open_until(), at(132));
  EXPECT_FALSE(b.may_pass(at(131.9)));
  EXPECT_FALSE(pass(b, 131.9, Verdict::kSuccess));
}

TEST(Breaker, FaultsSpreadWiderThanTheWindowKeepItClosed) {
  Breaker b(settings(3, 10, 30));
  for (double t : {0.0, 6.0, 12.0, 18.0, 24.0, 30.0}) {
    EXPECT_TRUE(pass(b, t, Verdict::kFault));
    EXPECT_EQ(b.state(at(t)), State::kClosed) << "at " << t;
  }
}

// A key that fails every other call is flaky, not broken: a success ends the run of faults.
TEST(Breaker, ASuccessBetweenFaultsStartsTheCountAnew) {
  Breaker b(settings(3, 10, 30));
  for (int i = 0; i < 20; ++i) {
    EXPECT_TRUE(pass(b, 100 + i * 0.1, i % 2 == 0 ? Verdict::kFault : Verdict::kSuccess));
  }
  EXPECT_EQ(b.state(at(102)), State::kClosed);
  // Neutral outcomes (a caller's mistake) neither count nor end the run.
  EXPECT_TRUE(pass(b, 103, Verdict::kFault));
  EXPECT_TRUE(pass(b, 103.1, Verdict::kNeutral));
  EXPECT_TRUE(pass(b, 103.2, Verdict::kFault));
  EXPECT_EQ(b.state(at(103.2)), State::kClosed);
  EXPECT_TRUE(pass(b, 103.3, Verdict::kFault));
  EXPECT_EQ(b.state(at(103.3)), State::kOpen);
}

TEST(Breaker, SuccessesAndNeutralOutcomesNeverOpenIt) {
  Breaker b(settings(2, 10, 30));
  for (int i = 0; i < 50; ++i) {
    EXPECT_TRUE(pass(b, i * 0.1, i % 2 == 0 ? Verdict::kSuccess : Verdict::kNeutral));
  }
  EXPECT_EQ(b.state(at(5)), State::kClosed);
}

TEST(Breaker, HalfOpenLetsExactlyOneTrialThroughAndItsSuccessCloses) {
  Breaker b(settings(1, 10, 30));
  ASSERT_TRUE(pass(b, 0, Verdict::kFault));
  EXPECT_EQ(b.state(at(30)), State::kHalfOpen);
  EXPECT_TRUE(b.may_pass(at(30)));
  bool trial = false;
  ASSERT_TRUE(b.admit(at(30), trial));
  EXPECT_TRUE(trial);
  bool second = false;
  EXPECT_FALSE(b.may_pass(at(30.5)));
  EXPECT_FALSE(b.admit(at(30.5), second));
  b.record(trial, Verdict::kSuccess, at(31));
  EXPECT_EQ(b.state(at(31)), State::kClosed);
  EXPECT_FALSE(b.open_until());
  EXPECT_TRUE(pass(b, 31, Verdict::kSuccess));
}

TEST(Breaker, AFailedTrialOpensItAgainForTheWholePeriod) {
  Breaker b(settings(1, 10, 30));
  ASSERT_TRUE(pass(b, 0, Verdict::kFault));
  ASSERT_TRUE(pass(b, 40, Verdict::kFault));  // the trial
  EXPECT_EQ(b.state(at(40)), State::kOpen);
  EXPECT_EQ(*b.open_until(), at(70));
  EXPECT_FALSE(b.may_pass(at(69)));
  EXPECT_TRUE(b.may_pass(at(70)));
}

TEST(Breaker, AnAbandonedOrNeutralTrialLetsTheNextRequestTry) {
  Breaker b(settings(1, 10, 30));
  ASSERT_TRUE(pass(b, 0, Verdict::kFault));
  bool trial = false;
  ASSERT_TRUE(b.admit(at(30), trial));
  b.abandon(trial);
  EXPECT_EQ(b.state(at(31)), State::kHalfOpen);
  ASSERT_TRUE(pass(b, 31, Verdict::kNeutral));
  EXPECT_EQ(b.state(at(31)), State::kHalfOpen);
  EXPECT_TRUE(b.may_pass(at(31)));
}

TEST(Breaker, AfterClosingItNeedsNFreshFaultsToOpenAgain) {
  Breaker b(settings(3, 10, 30));
  for (double t : {0.0, 1.0, 2.0}) pass(b, t, Verdict::kFault);
  ASSERT_TRUE(pass(b, 40, Verdict::kSuccess));  // the trial closes it
  EXPECT_TRUE(pass(b, 41, Verdict::kFault));
  EXPECT_TRUE(pass(b, 42, Verdict::kFault));
  EXPECT_EQ(b.state(at(42)), State::kClosed);
  EXPECT_TRUE(pass(b, 43, Verdict::kFault));
  EXPECT_EQ(b.state(at(43)), State::kOpen);
}

TEST(Breaker, LateAnswersOfRequestsAdmittedBeforeOpeningChangeNothing) {
  Breaker b(settings(1, 10, 30));
  bool early = false;
  ASSERT_TRUE(b.admit(at(0), early));
  ASSERT_TRUE(pass(b, 1, Verdict::kFault));  // opens
  b.record(early, Verdict::kSuccess, at(2));
  EXPECT_EQ(b.state(at(2)), State::kOpen);
}

TEST(Breaker, HeldOpenByAnotherInstanceItTakesNothingUntilThenThenOneTrial) {
  Breaker b(settings(3, 10, 30));
  b.hold_open(at(20));
  EXPECT_EQ(b.state(at(10)), State::kOpen);
  EXPECT_FALSE(pass(b, 10, Verdict::kSuccess));
  b.hold_open(at(15));  // a shorter hold never ends it sooner
  EXPECT_EQ(*b.open_until(), at(20));
  EXPECT_FALSE(pass(b, 19.9, Verdict::kSuccess));
  // Then half-open as after its own opening: one trial, whose success closes it.
  bool trial = false;
  ASSERT_TRUE(b.admit(at(20), trial));
  EXPECT_TRUE(trial);
  bool second = false;
  EXPECT_FALSE(b.admit(at(20), second));
  b.record(trial, Verdict::kSuccess, at(21));
  EXPECT_EQ(b.state(at(21)), State::kClosed);
}

TEST(Breaker, AHoldLongerThanItsOwnOpeningExtendsIt) {
  Breaker b(settings(1, 10, 30));
  ASSERT_TRUE(pass(b, 0, Verdict::kFault));  // open until 30
  b.hold_open(at(45));
  EXPECT_EQ(b.state(at(40)), State::kOpen);
  EXPECT_EQ(b.state(at(45)), State::kHalfOpen);
}

TEST(Breaker, ZeroFailuresMeansNeverOpen) {
  Breaker b(settings(0, 10, 30));
  for (int i = 0; i < 100; ++i) EXPECT_TRUE(pass(b, i * 0.01, Verdict::kFault));
  EXPECT_EQ(b.state(at(1)), State::kClosed);
}

TEST(Breaker, ConcurrentRequestsGetOneTrialOnly) {
  Breaker b(settings(1, 10, 30));
  ASSERT_TRUE(pass(b, 0, Verdict::kFault));
  std::atomic<int> trials{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 1000; ++i) {
        bool trial = false;
        if (b.admit(at(31), trial)) trials.fetch_add(trial ? 1 : 100);
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(trials.load(), 1);
}

}  // namespace
}  // namespace bc::balance
