#include "core/stream_options.h"

#include <string>

#include <gtest/gtest.h>

namespace bc {
namespace {

TEST(StreamOptions, WantsUsageChunksOnlyWhenIncludeUsageIsTrue) {
  const auto wants = [](std::string_view options) {
    const std::string text =
        R"({"stream":true,"messages":[{"role":"user","content":"x"}])" + std::string(options) + "}";
    auto scanned = ChatRequest::parse(text);
    auto tree = ChatRequest::parse_tree(text);
    EXPECT_TRUE(scanned.ok() && tree.ok()) << text;
    EXPECT_NE(scanned->raw(), nullptr) << text;  // both forms are read, and agree
    EXPECT_EQ(wants_usage_chunks(*scanned), wants_usage_chunks(*tree)) << text;
    return wants_usage_chunks(*tree);
  };
  EXPECT_TRUE(wants(R"(,"stream_options":{"include_usage":true})"));
  EXPECT_TRUE(wants(R"(,"stream_options":{"include_obfuscation":false,"include_usage":true})"));
  EXPECT_FALSE(wants(R"(,"stream_options":{"include_usage":false})"));
  EXPECT_FALSE(wants(R"(,"stream_options":{})"));
  EXPECT_FALSE(wants(R"(,"stream_options":null)"));
  EXPECT_FALSE(wants(R"(,"stream_options":{"include_usage":"yes"})"));
  EXPECT_FALSE(wants(""));
}

}  // namespace
}  // namespace bc
