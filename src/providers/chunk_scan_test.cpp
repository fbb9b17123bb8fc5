#include "providers/chunk_scan.h"

#include <random>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "providers/openai.h"

namespace bc::providers {
namespace {

// The OpenAI decoder with the scan switched off: the reference the scan must agree with.
class TreeDecoder final : public OpenAiStreamDecoder {
 public:
  TreeDecoder() : OpenAiStreamDecoder(openai_dialect()) {}

 protected:
  bool adjusts_chunks() const override { return true; }
};

const std::string kChunk =
    R"({"id":"c1","object":"chat.completion.chunk","created":1,"model":"m","choices":[{"index":0,"delta":{"role":"assistant","content":"Hi \u00e9\"x\"\n"},"finish_reason":null}]})";

// Checks that whenever the scan accepts `chunk`, the tree path reads the same fields and
// relays the same bytes. Returns whether the scan accepted it.
bool agrees_with_tree(const std::string& chunk) {
  const auto scanned = scan_chunk(chunk);
  if (!scanned) return false;
  TreeDecoder tree;
  std::vector<ChatDelta> out;
  const Status st = tree.feed("data: " + chunk + "\n\n", out);
  EXPECT_TRUE(st.ok()) << chunk << "\n" << (st.ok() ? "" : st.error().message);
  if (!st.ok() || out.size() != 1) {
    ADD_FAILURE() << "the tree path made " << out.size() << " deltas of " << chunk;
    return true;
  }
  EXPECT_EQ(out[0].text, scanned->text) << chunk;
  EXPECT_EQ(out[0].finish_reason, scanned->finish_reason) << chunk;
  EXPECT_EQ(out[0].usage.has_value(), scanned->usage.has_value()) << chunk;
  if (out[0].usage && scanned->usage) {
    EXPECT_EQ(out[0].usage->prompt_tokens, scanned->usage->prompt_tokens) << chunk;
    EXPECT_EQ(out[0].usage->completion_tokens, scanned->usage->completion_tokens) << chunk;
    EXPECT_EQ(out[0].usage->total_tokens, scanned->usage->total_tokens) << chunk;
  }
  EXPECT_EQ(out[0].chunk_json, chunk);
  return true;
}

TEST(ChunkScan, ReadsTextFinishReasonAndUsageOfOrdinaryChunks) {
  auto f = scan_chunk(kChunk);
  ASSERT_TRUE(f);
  EXPECT_EQ(f->text, "Hi \xc3\xa9\"x\"\n");
  EXPECT_EQ(f->finish_reason, "");
  EXPECT_FALSE(f->usage);

  f = scan_chunk(
      R"({"object":"chat.completion.chunk","choices":[{"delta":{"content":"a"}},{"delta":{"content":"b"},"finish_reason":"length"},{"finish_reason":"stop"}],"usage":{"prompt_tokens":5,"completion_tokens":7}})");
  ASSERT_TRUE(f);
  EXPECT_EQ(f->text, "ab");
  EXPECT_EQ(f->finish_reason, "length");
  ASSERT_TRUE(f->usage);
  EXPECT_EQ(f->usage->total_tokens, 12);  // prompt + completion when total is absent
}

TEST(ChunkScan, UsageAtTheTopWinsOverUsageInAChoice) {
  const auto f = scan_chunk(
      R"({"object":"chat.completion.chunk","usage":{"prompt_tokens":1,"completion_tokens":1,"total_tokens":9},"choices":[{"delta":{},"usage":{"prompt_tokens":2,"completion_tokens":2}}]})");
  ASSERT_TRUE(f);
  ASSERT_TRUE(f->usage);
  EXPECT_EQ(f->usage->total_tokens, 9);
  // Moonshot: usage only inside the finishing choice.
  const auto m = scan_chunk(
      R"({"object":"chat.completion.chunk","choices":[{"delta":{},"finish_reason":"stop","usage":{"prompt_tokens":5,"completion_tokens":6,"total_tokens":11}}],"usage":null})");
  ASSERT_TRUE(m);
  ASSERT_TRUE(m->usage);
  EXPECT_EQ(m->usage->total_tokens, 11);
}

TEST(ChunkScan, LeavesEverythingUnusualToTheTreePath) {
  for (
      const char* chunk : {
          R"({"choices":[]})",                                     // no object: normalized
          R"({"object":"chat.completion.chunk","choices":null})",  // normalized
          R"({"object":"chat.completion.chunk"})",                 // normalized
          R"({"object":"chat.completion.chunk","choices":{}})",    // malformed
          R"({"object":"chat.completion.chunk","choices":"x"})",   // malformed
          R"({"object":"error","message":"x","choices":[]})",      // an error report
          R"({"object":"chat.completion.chunk","choices":[],"error":null})",
          R"({"object":"chat.completion.chunk","choices":[],"code":1})",
          R"({"object":7,"choices":[]})",
          R"({"object":"chat.completion.chunk","choices":[],"choices":[]})",  // repeated
          R"({"object":"chat.completion.chunk","choices":[{"delta":{"content":"a","content":"b"}}]})",
          R"({"object":"chat.completion.chunk","choices":[]} x)",  // trailing bytes
          R"({"object":"chat.completion.chunk","choices":[])",     // cut
          R"([1,2])",
          R"("text")",
          "",
      }) {
    EXPECT_FALSE(scan_chunk(chunk)) << chunk;
  }
}

TEST(ChunkScan, AgreesWithTheTreePathOnOddButAcceptedShapes) {
  for (
      const std::string& chunk : std::initializer_list<std::string>{
          kChunk,
          std::string(
              R"({"object":"chat.completion.chunk","choices":[1,"x",null,[{"delta":{"content":"no"}}],{"delta":"s","finish_reason":3},{"delta":{"content":null,"tool_calls":[{"function":{"arguments":"{\"a\":1}"}}]}}]})"),
          std::string(
              R"({"object":"chat.completion.chunk","choices":[],"usage":{"prompt_tokens":1e3,"completion_tokens":18446744073709551615,"total_tokens":"12"}})"),
          std::string(
              R"({"object":"chat.completion.chunk","choices":[],"usage":{"prompt_tokens":-3,"completion_tokens":{"a":1},"total_tokens":[1]}})"),
          std::string(
              R"({"object":"chat.completion.chunk","choices":[],"usage":{"prompt_tokens":1e300,"completion_tokens":true,"total_tokens":2.5}})"),
          std::string(R"({"object":"chat.completion.chunk","choices":[{"delta":{"content":")") +
              std::string(10000, 'z') + R"(\t\u4e2d"}}]})",
      }) {
    EXPECT_TRUE(agrees_with_tree(chunk)) << chunk;
  }
}

TEST(ChunkScan, AgreesWithTheTreePathOnMutatedChunks) {
  const std::vector<std::string> seeds = {
      kChunk,
      R"({"id":"c1","object":"chat.completion.chunk","choices":[],"usage":{"prompt_tokens":5,"completion_tokens":7,"total_tokens":12}})",
      R"({"object":"chat.completion.chunk","choices":[{"index":0,"delta":{},"finish_reason":"stop","usage":{"prompt_tokens":1,"completion_tokens":2}}]})",
  };
  const std::string alphabet = R"({}[]":,0123456789.eE-+ \ntruefalsnull\u00e9abc)";
  std::mt19937 rng(20261128);
  int accepted = 0;
  for (int i = 0; i < 30000; ++i) {
    std::string chunk = seeds[static_cast<std::size_t>(i) % seeds.size()];
    const int edits = 1 + static_cast<int>(rng() % 3);
    for (int e = 0; e < edits && !chunk.empty(); ++e) {
      const std::size_t at = rng() % chunk.size();
      switch (rng() % 3) {
        case 0:
          chunk[at] = alphabet[rng() % alphabet.size()];
          break;
        case 1:
          chunk.erase(at, 1 + rng() % 4);
          break;
        default:
          chunk.insert(at, 1, alphabet[rng() % alphabet.size()]);
      }
    }
    if (chunk.find_first_of("\r\n") != std::string::npos) continue;  // the decoder rewrites those
    if (!chunk.empty() && (chunk.front() == ' ' || chunk.back() == ' ')) continue;  // trimmed
    if (agrees_with_tree(chunk)) ++accepted;
    if (::testing::Test::HasFailure()) break;
  }
  EXPECT_GT(accepted, 1000);  // the property was exercised, not vacuously true
}

}  // namespace
}  // namespace bc::providers
