#include "core/chat.h"

#include <random>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <boost/json.hpp>

#include "core/chat_scan_check.h"
#include "core/mutate_for_tests.h"

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
    const char* param;  // OpenAI's error.param: the member at fault, or none (null)
  };
  const Case cases[] = {
      {"{", "invalid_json", ""},
      {"[1]", "invalid_json", ""},
      {"{}", "missing_messages", "messages"},
      {R"({"messages":[]})", "invalid_messages", "messages"},
      {R"({"messages":"hi"})", "invalid_messages", "messages"},
      {R"({"messages":[1]})", "invalid_messages", "messages[0]"},
      {R"({"messages":[{"role":"user"},{"content":"x"}]})", "invalid_messages", "messages[1].role"},
      {R"({"messages":[{"role":"user"}],"model":3})", "invalid_model", "model"},
      {R"({"messages":[{"role":"user"}],"stream":"yes"})", "invalid_stream", "stream"},
      {R"({"messages":[{"role":"user"}],"tools":{}})", "invalid_tools", "tools"},
      // Beyond a double: relayed, it would reach the upstream as null or another number.
      {R"({"messages":[{"role":"user"}],"max_tok=ns":641e308})", "number_out_of_range",
       "max_tok=ns"},
      {R"({"messages":[{"role":"user"}],"x":{"y":[1,-2E999]}})", "number_out_of_range", "x.y[1]"},
  };
  for (const auto& c : cases) {
    auto r = ChatRequest::parse(c.body);
    ASSERT_FALSE(r.ok()) << c.body;
    EXPECT_EQ(r.error().code, c.code) << c.body;
    EXPECT_EQ(r.error().param, c.param) << c.body;
    EXPECT_EQ(r.error().status(), 400) << c.body;
  }
}

const std::string kRequest =
    R"({"model":"gpt-4o-mini","messages":[{"role":"system","content":"Be brief."},)"
    R"({"role":"user","content":"Paris é \"x\"\n","name":"u1"}],"temperature":0.70,)"
    R"("max_tokens":64,"stream":false,"tools":[{"type":"function","function":{"name":"f",)"
    R"("parameters":{"type":"object","properties":{}}}}],"user":"abc","n":1})";

TEST(ChatRequestScan, ReadsTheUsualRequestWithoutATree) {
  auto r = ChatRequest::parse(kRequest);
  ASSERT_TRUE(r.ok()) << r.error().message;
  const ChatRequest::Raw* raw = r->raw();
  ASSERT_NE(raw, nullptr);
  EXPECT_EQ(r->model, "gpt-4o-mini");
  EXPECT_FALSE(r->stream);
  EXPECT_TRUE(r->has_tools());
  EXPECT_EQ(r->content_chars(), 9 + 13);  // "Be brief." and the decoded second content
  EXPECT_EQ(r->max_answer_tokens(), 64);
  ASSERT_EQ(raw->scan.members.size(), 8u);
  EXPECT_EQ(raw->key(raw->scan.members[2]), "temperature");
  EXPECT_EQ(raw->value(raw->scan.members[2]), "0.70");  // the caller's own bytes
  EXPECT_EQ(raw->key(raw->scan.members[7]), "n");
  // The tree, when an adapter asks for it, is the same request.
  EXPECT_EQ(r->body().at("user").as_string(), "abc");
  EXPECT_NE(r->raw(), nullptr);
  bool scanned = false;
  EXPECT_EQ(testing::request_scan_disagreement(kRequest, scanned), "");
  EXPECT_TRUE(scanned);
}

TEST(ChatRequestScan, LeavesNumbersThatMayOverflowToTheTree) {
  // Exponents of three digits and integers of 300 digits may be beyond a double: the tree reads
  // them. Smaller ones stay on the scan.
  const auto usual = ChatRequest::parse(R"({"messages":[{"role":"user"}],"x":1e99})");
  ASSERT_TRUE(usual.ok());
  EXPECT_NE(usual->raw(), nullptr);
  const auto small = ChatRequest::parse(R"({"messages":[{"role":"user"}],"x":1e-100})");
  ASSERT_TRUE(small.ok());
  EXPECT_EQ(small->raw(), nullptr);
  const auto long_integer =
      ChatRequest::parse(R"({"messages":[{"role":"user"}],"x":)" + std::string(301, '1') + "}");
  ASSERT_TRUE(long_integer.ok());
  EXPECT_EQ(long_integer->raw(), nullptr);
}

TEST(ChatRequestScan, ParseOwnedKeepsTheTextItIsGiven) {
  std::string text = kRequest;
  const char* const buffer = text.data();
  auto r = ChatRequest::parse_owned(std::move(text));
  ASSERT_TRUE(r.ok());
  ASSERT_NE(r->raw(), nullptr);
  EXPECT_EQ(r->raw()->text, kRequest);
  EXPECT_EQ(r->raw()->text.data(), buffer);  // moved in, not copied
  EXPECT_EQ(r->model, "gpt-4o-mini");
  auto bad = ChatRequest::parse_owned(R"({"messages":[]})");
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().code, "invalid_messages");
  auto unsure = ChatRequest::parse_owned(R"({"messages":[{"role":"user","content":"\u00e9"}]})");
  ASSERT_TRUE(unsure.ok());
  EXPECT_EQ(unsure->raw(), nullptr);
  EXPECT_EQ(unsure->content_chars(), 2);  // é, two bytes of UTF-8
}

TEST(ChatRequestScan, AChangedBodyIsNoLongerRelayedAsText) {
  auto r = ChatRequest::parse(kRequest);
  ASSERT_TRUE(r.ok());
  r->mutable_body()["stream"] = true;
  EXPECT_EQ(r->raw(), nullptr);
  EXPECT_TRUE(r->body().at("stream").as_bool());
  EXPECT_TRUE(r->has_tools());
  EXPECT_EQ(r->max_answer_tokens(), 64);
}

TEST(ChatRequestScan, LeavesWhatItCannotDecideToTheTree) {
  const std::string deep = R"({"messages":[{"role":"user"}],"x":)" + std::string(14, '[') + "1" +
                           std::string(14, ']') + "}";
  const std::string unsure[] = {
      R"({"messages":[{"role":"user","content":"\u00e9"}]})",              // \u escape
      R"({"messages":[{"role":"user"}],"model":"a","model":"b"})",         // repeated member
      R"({"messages":[{"role":"user","role":"system"}]})",                 // repeated role
      R"({"mess\nages":[{"role":"user"}],"messages":[{"role":"user"}]})",  // escaped key
      R"({"messages":[{"role":"user"}],"max_tokens":-1})",                 // not plain
      R"({"messages":[{"role":"user"}],"max_tokens":1.5})",
      R"({"messages":[{"role":"user"}],"max_tokens":12345678901234567})",
      deep,
  };
  for (const std::string& text : unsure) {
    EXPECT_FALSE(scan_chat_request(text).has_value()) << text;
    auto r = ChatRequest::parse(text);
    ASSERT_TRUE(r.ok()) << text << ": " << r.error().message;
    EXPECT_EQ(r->raw(), nullptr) << text;
  }
  EXPECT_EQ(
      ChatRequest::parse(R"({"messages":[{"role":"user"}],"max_tokens":-1})")->max_answer_tokens(),
      -1);
  // Errors are the tree's to name: the scan refuses every bad request of the test above.
  for (const char* bad : {"{", "[1]", "{}", R"({"messages":[]})", R"({"messages":[1]})",
                          R"({"messages":[{"role":"user"}],"model":3})",
                          R"({"messages":[{"role":"user"}],"stream":"yes"})",
                          R"({"messages":[{"role":"user"}],"tools":{}})"}) {
    EXPECT_FALSE(scan_chat_request(bad).has_value()) << bad;
  }
}

TEST(ChatRequestScan, AgreesWithTheTreeOnMutatedRequests) {
  const std::vector<std::string> seeds = {
      kRequest,
      R"({"messages":[{"role":"user","content":"hi"}],"model":"auto","stream":true,)"
      R"("stream_options":null,"tools":[],"max_completion_tokens":9,"max_tokens":3})",
      R"( { "messages" : [ { "role" : "user" , "content" : [ {"type":"text","text":"a"} ] } ] ,)"
      R"( "model" : null , "stream" : null , "tools" : null , "temperature" : 1e-2 } )",
  };
  const std::string alphabet = R"({}[]":,0123456789.eE-+ \ntruefalsnull\u00e9abc)";
  std::mt19937 rng(20261129);
  int scanned_count = 0;
  for (int i = 0; i < 30000; ++i) {
    const std::string text =
        bc::testing::mutate(seeds[static_cast<std::size_t>(i) % seeds.size()], rng, alphabet, 3, 4);
    bool scanned = false;
    const std::string disagreement = testing::request_scan_disagreement(text, scanned);
    ASSERT_EQ(disagreement, "") << text;
    if (scanned) ++scanned_count;
  }
  EXPECT_GT(scanned_count, 1000);  // the property was exercised, not vacuously true
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
