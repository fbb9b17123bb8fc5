#include "mockllm/fault_plan.h"

#include <gtest/gtest.h>

#include "mockllm/answer.h"

namespace bc::mockllm {
namespace {

using std::chrono::milliseconds;

TEST(FaultPlan, PlainKeyIsItsOwnNameWithDefaults) {
  const auto plan = parse_fault_plan("sk-plain");
  EXPECT_EQ(plan.key_name, "sk-plain");
  EXPECT_EQ(plan.latency, milliseconds(0));
  EXPECT_EQ(plan.gap, milliseconds(5));
  EXPECT_EQ(plan.tokens, 5);
  EXPECT_EQ(plan.status, 0);
  EXPECT_FALSE(plan.retry_after);
  EXPECT_FALSE(plan.cut_after);
  EXPECT_FALSE(plan.malformed);
  EXPECT_FALSE(plan.burst);
  EXPECT_FALSE(plan.error_in_stream);
  EXPECT_FALSE(plan.tool_call);
  EXPECT_TRUE(plan.code.empty());
  EXPECT_FALSE(plan.error_200);
  EXPECT_EQ(plan.token_ttl, 2'592'000);
  EXPECT_EQ(plan.error_status(0), 0);
}

TEST(FaultPlan, ReadsEveryOption) {
  const auto plan = parse_fault_plan(
      "k1;latency=250;gap=40;tokens=9;status=429;retry_after=3;cut_after=2;malformed;"
      "fail_first=4;error_in_stream;tool_call;code=1113;error_200;token_ttl=60;burst");
  EXPECT_EQ(plan.key_name, "k1");
  EXPECT_EQ(plan.latency, milliseconds(250));
  EXPECT_EQ(plan.gap, milliseconds(40));
  EXPECT_EQ(plan.tokens, 9);
  EXPECT_EQ(plan.status, 429);
  EXPECT_EQ(plan.retry_after, 3);
  EXPECT_EQ(plan.cut_after, 2);
  EXPECT_TRUE(plan.malformed);
  EXPECT_EQ(plan.fail_first, 4);
  EXPECT_TRUE(plan.error_in_stream);
  EXPECT_TRUE(plan.tool_call);
  EXPECT_EQ(plan.code, "1113");
  EXPECT_TRUE(plan.error_200);
  EXPECT_EQ(plan.token_ttl, 60);
  EXPECT_TRUE(plan.burst);
}

TEST(FaultPlan, IgnoresUnknownOptionsAndValuesThatDoNotParse) {
  const auto plan = parse_fault_plan("k2;colour=blue;latency=soon;tokens=-3;status=200;;gap=7");
  EXPECT_EQ(plan.key_name, "k2");
  EXPECT_EQ(plan.latency, milliseconds(0));
  EXPECT_EQ(plan.tokens, 0);  // clamped, not rejected
  EXPECT_EQ(plan.status, 0);  // not an error status
  EXPECT_EQ(plan.gap, milliseconds(7));
}

TEST(FaultPlan, StatusAppliesToEveryRequestWithoutFailFirst) {
  const auto plan = parse_fault_plan("k;status=503");
  EXPECT_EQ(plan.error_status(0), 503);
  EXPECT_EQ(plan.error_status(1000), 503);
}

TEST(FaultPlan, FailFirstFailsOnlyTheFirstRequestsWithStatusOr500) {
  const auto with_status = parse_fault_plan("k;fail_first=2;status=429");
  EXPECT_EQ(with_status.error_status(0), 429);
  EXPECT_EQ(with_status.error_status(1), 429);
  EXPECT_EQ(with_status.error_status(2), 0);

  const auto without = parse_fault_plan("k;fail_first=1");
  EXPECT_EQ(without.error_status(0), 500);
  EXPECT_EQ(without.error_status(1), 0);
}

TEST(FaultPlan, FailEveryFailsEveryNthRequestStartingWithTheFirst) {
  const auto thinking = parse_fault_plan("k;think=90000;think_ping=5000");
  EXPECT_EQ(thinking.think, std::chrono::milliseconds(90'000));
  EXPECT_EQ(thinking.think_ping, std::chrono::milliseconds(5'000));
  const auto plan = parse_fault_plan("k;fail_every=2");
  EXPECT_EQ(plan.fail_every, 2);
  EXPECT_EQ(plan.error_status(0), 500);
  EXPECT_EQ(plan.error_status(1), 0);
  EXPECT_EQ(plan.error_status(2), 500);
  EXPECT_EQ(plan.error_status(3), 0);
  const auto with_status = parse_fault_plan("k;fail_every=3;status=503");
  EXPECT_EQ(with_status.error_status(0), 503);
  EXPECT_EQ(with_status.error_status(1), 0);
  EXPECT_EQ(with_status.error_status(2), 0);
  EXPECT_EQ(with_status.error_status(3), 503);
}

TEST(FaultPlan, EchoKeyAnswers401UnlessToldOtherwise) {
  const auto plain = parse_fault_plan("ab+/=cd;echo_key");
  EXPECT_TRUE(plain.echo_key);
  EXPECT_EQ(plain.key_name, "ab+/=cd");
  EXPECT_EQ(plain.error_status(0), 401);
  EXPECT_EQ(parse_fault_plan("k;echo_key;status=403").error_status(0), 403);
  // With fail_first the usual rule holds: those fail (500 without a status), later ones pass.
  const auto first = parse_fault_plan("k;echo_key;fail_first=1");
  EXPECT_EQ(first.error_status(0), 500);
  EXPECT_EQ(first.error_status(1), 0);
  EXPECT_FALSE(parse_fault_plan("k;status=401").echo_key);
}

TEST(AnswerPieces, NameModelAndKeyAndRepeatWithASpace) {
  EXPECT_EQ(answer_pieces("m", "k", 5),
            (std::vector<std::string>{"Hello", " from", " m", " via", " k"}));
  const auto long_answer = answer_pieces("m", "k", 8);
  ASSERT_EQ(long_answer.size(), 8u);
  EXPECT_EQ(long_answer[5], ".");
  EXPECT_EQ(long_answer[6], " Hello");
  EXPECT_EQ(long_answer[7], " from");
  EXPECT_TRUE(answer_pieces("m", "k", 0).empty());
}

}  // namespace
}  // namespace bc::mockllm
