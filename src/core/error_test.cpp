#include "core/error.h"

#include <gtest/gtest.h>
#include <boost/json.hpp>

#include "core/result.h"

namespace bc {
namespace {

TEST(Error, RendersOpenAIShape) {
  const auto e = Error::invalid_request("'messages' is required", "missing_messages");
  const auto v = boost::json::parse(e.to_json());
  const auto& inner = v.at("error").as_object();
  EXPECT_EQ(inner.at("message").as_string(), "'messages' is required");
  EXPECT_EQ(inner.at("type").as_string(), "invalid_request_error");
  EXPECT_EQ(inner.at("code").as_string(), "missing_messages");
  ASSERT_TRUE(inner.contains("param"));  // required by OpenAI's ErrorResponse, may be null
  EXPECT_TRUE(inner.at("param").is_null());
  EXPECT_EQ(e.status(), 400);
}

TEST(Error, ParamNamesTheMemberAtFault) {
  const auto e = Error::invalid_param("temperature", "'temperature' must be a number from 0 to 2",
                                      "invalid_parameter");
  const auto v = boost::json::parse(e.to_json());
  EXPECT_EQ(v.at("error").at("param").as_string(), "temperature");
  EXPECT_EQ(v.at("error").at("code").as_string(), "invalid_parameter");
  EXPECT_EQ(e.status(), 400);
}

TEST(Error, EmptyCodeIsNull) {
  Error e;
  e.kind = ErrorKind::kRateLimited;
  e.message = "slow down";
  const auto v = boost::json::parse(e.to_json());
  EXPECT_TRUE(v.at("error").at("code").is_null());
  EXPECT_EQ(v.at("error").at("type").as_string(), "rate_limit_error");
  EXPECT_EQ(e.status(), 429);
}

TEST(Error, ExplicitStatusWins) {
  auto e = Error::upstream("bad gateway");
  e.http_status = 503;
  EXPECT_EQ(e.status(), 503);
  EXPECT_TRUE(e.retryable);
}

TEST(Result, HoldsValueOrError) {
  Result<int> good = 7;
  ASSERT_TRUE(good.ok());
  EXPECT_EQ(*good, 7);
  Result<int> bad = Error::internal("boom");
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().message, "boom");
  Status fine;
  EXPECT_TRUE(fine.ok());
  Status failed = Error::timeout("late");
  EXPECT_EQ(failed.error().status(), 504);
}

}  // namespace
}  // namespace bc
