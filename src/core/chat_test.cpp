#include "core/chat.h"

#include <gtest/gtest.h>
#include <boost/json.hpp>

namespace bc {
namespace {

TEST(ChatRequest, ParsesModelStreamAndTools) {
  auto r = ChatRequest::parse(
      R"({"model":"glm","stream":true,"messages":[{"role":"user","content":"hi"}],)"
      R"("tools":[{"type":"function","function":{"name":"f"}}]})");
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->model, "glm");
  EXPECT_TRUE(r->stream);
  EXPECT_TRUE(r->has_tools());
}

TEST(ChatRequest, AutoAndMissingModelMeanAny) {
  auto a = ChatRequest::parse(R"({"model":"auto","messages":[{"role":"user","content":"x"}]})");
  ASSERT_TRUE(a.ok());
  EXPECT_TRUE(a->model.empty());
  auto b = ChatRequest::parse(R"({"messages":[{"role":"user","content":"x"}]})");
  ASSERT_TRUE(b.ok());
  EXPECT_TRUE(b->model.empty());
  EXPECT_FALSE(b->stream);
}

TEST(ChatRequest, RejectsBadInputWithCodes) {
  struct Case {
    const char* body;
    const char* code;
  };
  const Case cases[] = {
      {"{", "invalid_json"},
      {"[1]", "invalid_json"},
      {"{}", "missing_messages"},
      {R"({"messages":[]})", "invalid_messages"},
      {R"({"messages":"hi"})", "invalid_messages"},
      {R"({"messages":[1]})", "invalid_messages"},
      {R"({"messages":[{"content":"x"}]})", "invalid_messages"},
      {R"({"messages":[{"role":"user"}],"model":3})", "invalid_model"},
      {R"({"messages":[{"role":"user"}],"stream":"yes"})", "invalid_stream"},
      {R"({"messages":[{"role":"user"}],"tools":{}})", "invalid_tools"},
  };
  for (const auto& c : cases) {
    auto r = ChatRequest::parse(c.body);
    ASSERT_FALSE(r.ok()) << c.body;
    EXPECT_EQ(r.error().code, c.code) << c.body;
    EXPECT_EQ(r.error().status(), 400) << c.body;
  }
}

TEST(ChatResponse, TextOfFirstChoice) {
  ChatResponse resp;
  resp.completion =
      boost::json::parse(
          R"({"choices":[{"index":0,"message":{"role":"assistant","content":"hello"}}]})")
          .as_object();
  EXPECT_EQ(resp.text(), "hello");
  ChatResponse empty;
  EXPECT_EQ(empty.text(), "");
}

}  // namespace
}  // namespace bc
