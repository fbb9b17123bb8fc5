#include "providers/openai_shape.h"

#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <boost/json.hpp>

namespace bc::providers {
namespace {

namespace json = boost::json;

// The chunks of the events `append_chunk_event` wrote, parsed.
std::vector<json::value> chunks_of(std::string_view events) {
  std::vector<json::value> out;
  while (!events.empty()) {
    EXPECT_TRUE(events.starts_with("data: ")) << events;
    const auto end = events.find("\n\n");
    EXPECT_NE(end, std::string_view::npos) << events;
    if (end == std::string_view::npos) break;
    out.push_back(json::parse(events.substr(6, end - 6)));
    events.remove_prefix(end + 2);
  }
  return out;
}

std::vector<json::value> shaped(std::string_view chunk, bool include_usage) {
  std::string out;
  append_chunk_event(chunk, include_usage, out);
  return chunks_of(out);
}

constexpr std::string_view kOpenAiContent =
    R"({"id":"c1","object":"chat.completion.chunk","created":1,"model":"m",)"
    R"("choices":[{"index":0,"delta":{"content":"hi"},"finish_reason":null}],"usage":null})";
constexpr std::string_view kOpenAiUsage =
    R"({"id":"c1","object":"chat.completion.chunk","created":1,"model":"m","choices":[],)"
    R"("usage":{"prompt_tokens":3,"completion_tokens":2,"total_tokens":5}})";
constexpr std::string_view kNativeContent =
    R"({"id":"c1","object":"chat.completion.chunk","created":1,"model":"m",)"
    R"("choices":[{"index":0,"delta":{"content":"hi"},"finish_reason":null}]})";
// Zhipu's and Spark's way: usage on the chunk that finishes.
constexpr std::string_view kUsageOnFinish =
    R"({"id":"c1","object":"chat.completion.chunk","created":1,"model":"m",)"
    R"("choices":[{"index":0,"delta":{},"finish_reason":"stop"}],)"
    R"("usage":{"prompt_tokens":3,"completion_tokens":2,"total_tokens":5}})";

TEST(OpenAiShapeAnswer, LogprobsAndRefusalAreAddedAsNull) {
  json::object completion =
      json::parse(
          R"({"id":"a","object":"chat.completion","created":1,"model":"m","choices":[)"
          R"({"index":0,"message":{"role":"assistant","content":"x"},"finish_reason":"stop"},)"
          R"({"index":1,"message":{"role":"assistant","content":"y","refusal":"no"},)"
          R"("logprobs":{"content":[],"refusal":null},"finish_reason":"stop"}]})")
          .as_object();
  complete_openai_choices(completion);
  const auto& choices = completion.at("choices").as_array();
  EXPECT_TRUE(choices[0].at("logprobs").is_null());
  EXPECT_TRUE(choices[0].at("message").at("refusal").is_null());
  // What the upstream sent stays.
  EXPECT_EQ(choices[1].at("message").at("refusal"), "no");
  EXPECT_TRUE(choices[1].at("logprobs").is_object());
}

TEST(OpenAiShapeStream, WithoutIncludeUsageNullUsageIsCutAndBytesStayOtherwise) {
  std::string out;
  append_chunk_event(kOpenAiContent, false, out);
  std::string expected(kOpenAiContent);
  expected.replace(expected.size() - 14, 14, "}");
  EXPECT_EQ(out, "data: " + expected + "\n\n");
  out.clear();
  append_chunk_event(kNativeContent, false, out);
  EXPECT_EQ(out, "data: " + std::string(kNativeContent) + "\n\n");
}

TEST(OpenAiShapeStream, WithoutIncludeUsageTheUsageChunkIsDropped) {
  EXPECT_TRUE(shaped(kOpenAiUsage, false).empty());
}

TEST(OpenAiShapeStream, WithoutIncludeUsageUsageBesideChoicesIsRemoved) {
  const auto got = shaped(kUsageOnFinish, false);
  ASSERT_EQ(got.size(), 1u);
  EXPECT_FALSE(got[0].as_object().contains("usage"));
  EXPECT_EQ(got[0].at("choices").at(0).at("finish_reason"), "stop");
}

TEST(OpenAiShapeStream, WithIncludeUsageOpenAisChunksPassUnchanged) {
  for (std::string_view chunk : {kOpenAiContent, kOpenAiUsage}) {
    std::string out;
    append_chunk_event(chunk, true, out);
    EXPECT_EQ(out, "data: " + std::string(chunk) + "\n\n");
  }
}

TEST(OpenAiShapeStream, WithIncludeUsageNullUsageIsAddedWhereMissing) {
  const auto got = shaped(kNativeContent, true);
  ASSERT_EQ(got.size(), 1u);
  ASSERT_TRUE(got[0].as_object().contains("usage"));
  EXPECT_TRUE(got[0].at("usage").is_null());
  EXPECT_EQ(got[0].at("choices").at(0).at("delta").at("content"), "hi");
}

TEST(OpenAiShapeStream, WithIncludeUsageUsageBesideChoicesGetsItsOwnChunk) {
  const auto got = shaped(kUsageOnFinish, true);
  ASSERT_EQ(got.size(), 2u);
  EXPECT_TRUE(got[0].at("usage").is_null());
  EXPECT_EQ(got[0].at("choices").at(0).at("finish_reason"), "stop");
  EXPECT_TRUE(got[1].at("choices").as_array().empty());
  EXPECT_EQ(got[1].at("usage").at("total_tokens"), 5);
  EXPECT_EQ(got[1].at("id"), "c1");
}

TEST(OpenAiShapeStream, AStringThatSaysUsageIsNotAMember) {
  // A content string holding the member's text is escaped, so the byte-level paths never
  // mistake it; a string value "usage" takes the tree path and is kept.
  constexpr std::string_view kTricky =
      R"({"id":"c1","choices":[{"index":0,"delta":{"content":"\"usage\":null}"},)"
      R"("finish_reason":null}],"name":"usage"})";
  auto got = shaped(kTricky, false);
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].at("choices").at(0).at("delta").at("content"), "\"usage\":null}");
  EXPECT_EQ(got[0].at("name"), "usage");
  got = shaped(kTricky, true);
  ASSERT_EQ(got.size(), 1u);
  EXPECT_TRUE(got[0].at("usage").is_null());
}

TEST(OpenAiShapeStream, ARunOfEventsIsShapedEventByEvent) {
  const std::string run = "data: " + std::string(kOpenAiContent) +
                          "\n\ndata: " + std::string(kOpenAiContent) +
                          "\n\ndata: " + std::string(kOpenAiUsage) + "\n\n";
  std::string out;
  append_chunk_events(run, false, out);
  const auto got = chunks_of(out);
  ASSERT_EQ(got.size(), 2u);
  for (const auto& c : got) EXPECT_FALSE(c.as_object().contains("usage"));
  out.clear();
  append_chunk_events(run, true, out);
  EXPECT_EQ(out, run);
}

TEST(OpenAiShapeStream, UsageIsFoundAnywhereInTheChunk) {
  // First member, between others, with g's all around: the byte scan must find each.
  for (std::string_view chunk :
       {R"({"usage":null,"id":"g","choices":[{"index":0,"delta":{"content":"gg"}}]})",
        R"({"id":"gg","usage":{"prompt_tokens":1,"completion_tokens":1,"total_tokens":2},)"
        R"("choices":[]})"}) {
    const auto got = shaped(chunk, false);
    EXPECT_TRUE(got.empty() || !got[0].as_object().contains("usage")) << chunk;
  }
}

TEST(OpenAiShapeStream, TextThatIsNotAnObjectIsKept) {
  std::string out;
  append_chunk_event("[1,2]", true, out);
  EXPECT_EQ(out, "data: [1,2]\n\n");
}

}  // namespace
}  // namespace bc::providers
