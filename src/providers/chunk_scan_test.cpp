#include "providers/chunk_scan.h"

#include <random>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "core/mutate_for_tests.h"
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
          std::string(R"({"object":"chat.completion.chunk","choices":[{"delta":{"content":")") +
              std::string(10000, 'z') + R"(\t\u4e2d"}}]})",
      }) {
    EXPECT_TRUE(agrees_with_tree(chunk)) << chunk;
  }
}

TEST(ChunkScan, OrdinaryChunksAreScanned) {
  for (
      const std::string& chunk : std::initializer_list<std::string>{
          R"({"id":"chatcmpl-1","object":"chat.completion.chunk","created":1700000000,"model":"gpt-4o-mini","system_fingerprint":"fp_1","choices":[{"index":0,"delta":{"role":"assistant","content":"","refusal":null},"logprobs":null,"finish_reason":null}]})",
          "{\"object\":\"chat.completion.chunk\",\"choices\":[{\"delta\":{\"content\":"
          "\"\xe4\xb8\xad\xe6\x96\x87 \xf0\x9f\x98\x80 \\\"q\\\" \\n\"}}]}",
          R"({"object":"chat.completion.chunk","choices":[{"index":0,"delta":{},"finish_reason":"stop"}],"usage":null})",
          R"({"object":"chat.completion.chunk","choices":[],"usage":{"prompt_tokens":52,"completion_tokens":17,"total_tokens":69,"details":{"cached":[0,1.5e3]}}})",
          // Every non-ASCII character escaped, as Python's json.dumps writes it by default.
          R"({"object":"chat.completion.chunk","choices":[{"delta":{"content":"\u4e2d\u6587 \ud83d\ude00 \u00E9\u0000"}}]})",
          // Moonshot: usage inside the finishing choice.
          R"({"object":"chat.completion.chunk","choices":[{"delta":{},"finish_reason":"stop","usage":{"prompt_tokens":1,"completion_tokens":2}}]})",
      }) {
    EXPECT_TRUE(agrees_with_tree(chunk)) << chunk;
  }
  const auto usage = scan_chunk(
      R"({"object":"x","choices":[{"delta":{"content":"a\tb"}},{"delta":{"content":"c"},"finish_reason":"length"}],"usage":{"prompt_tokens":5,"completion_tokens":7}})");
  ASSERT_TRUE(usage.has_value());
  EXPECT_EQ(usage->text, "a\tbc");
  EXPECT_EQ(usage->finish_reason, "length");
  ASSERT_TRUE(usage->usage.has_value());
  EXPECT_EQ(usage->usage->total_tokens, 12);
}

TEST(ChunkScan, DecodesUnicodeEscapesAsTheTreeDoes) {
  const auto f = scan_chunk(
      R"({"object":"x","choices":[{"delta":{"content":"\u00e9\u4E2D\ud83d\ude00\u0041\u0000"}}]})");
  ASSERT_TRUE(f);
  EXPECT_EQ(f->text, std::string("\xc3\xa9\xe4\xb8\xad\xf0\x9f\x98\x80"
                                 "A") +
                         '\0');
}

// What the scan cannot decide, or would have to convert, is the tree path's; whatever that
// decides, the client gets what it would have got from the scan.
TEST(ChunkScan, LeavesWhatItCannotDecideToTheTreePath) {
  for (
      const std::string& chunk : std::initializer_list<std::string>{
          R"({"object":"x","choices":[{"delta":{"content":"\ud800"}}]})",        // lone surrogate
          R"({"object":"x","choices":[{"delta":{"content":"\udc00\ud800"}}]})",  // low first
          R"({"object":"x","choices":[{"delta":{"content":"\ud800\u0041"}}]})",  // no low one
          R"({"object":"x","choices":[{"delta":{"content":"\ud800\n"}}]})",
          R"({"object":"x","choices":[{"delta":{"content":"\u00g9"}}]})",  // not hex
          R"({"object":"x","choices":[{"delta":{"content":"\u00e"}}]})",
          "{\"object\":\"x\",\"choices\":[{\"delta\":{\"content\":\"a\tb\"}}]}",  // raw tab
          R"({"object":"x","choices":[],"usage":{"prompt_tokens":1.0}})",  // a count to convert
          R"({"object":"chat.completion.chunk","choices":[],"usage":{"prompt_tokens":1e3,"completion_tokens":18446744073709551615,"total_tokens":"12"}})",
          R"({"object":"chat.completion.chunk","choices":[],"usage":{"prompt_tokens":-3,"completion_tokens":{"a":1},"total_tokens":[1]}})",
          R"({"object":"chat.completion.chunk","choices":[],"usage":{"prompt_tokens":1e300,"completion_tokens":true,"total_tokens":2.5}})",
          R"({"object":"x","choices":[],"usage":{"prompt_tokens":1000000000000000}})",
          R"({"object":"x","choices":[],"n":1e1000})",                      // a huge exponent
          R"({"object":"x","object":"y","choices":[]})",                    // a repeated member
          "{\"object\":\"x\",\"choices\":[\"\xed\xa0\x80\"]}",              // a surrogate in UTF-8
          "{\"object\":\"x\",\"choices\":[\"\xc0\xaf\"]}",                  // an overlong form
          R"({"object":"x","choices":[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]})",  // deep
          R"({"object":"x","choices":[]} x)",
          R"({"object":"x","choices":[1,]})",
      }) {
    EXPECT_FALSE(scan_chunk(chunk).has_value()) << chunk;
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
    const std::string chunk =
        bc::testing::mutate(seeds[static_cast<std::size_t>(i) % seeds.size()], rng, alphabet, 3, 4);
    if (chunk.find_first_of("\r\n") != std::string::npos) continue;  // the decoder rewrites those
    if (!chunk.empty() && (chunk.front() == ' ' || chunk.back() == ' ')) continue;  // trimmed
    if (agrees_with_tree(chunk)) ++accepted;
    if (::testing::Test::HasFailure()) break;
  }
  EXPECT_GT(accepted, 1000);  // exercised, not vacuously true
}

// Checks that whenever scan_completion() accepts `body`, the tree path (parse_answer, then
// completion_response) accepts it with the same usage. Returns whether the scan accepted it.
bool completion_agrees_with_tree(const std::string& body) {
  const auto scanned = scan_completion(body);
  if (!scanned) return false;
  const UpstreamResponse response{200, {}, body};
  auto parsed = parse_answer(response, openai_dialect());
  EXPECT_TRUE(parsed.ok()) << "the tree path refuses " << body;
  if (!parsed) return true;
  const auto tree = completion_response(std::move(parsed).value(), openai_dialect());
  EXPECT_TRUE(tree.ok()) << "the tree path refuses " << body;
  if (!tree) return true;
  EXPECT_EQ(tree->usage.prompt_tokens, scanned->prompt_tokens) << body;
  EXPECT_EQ(tree->usage.completion_tokens, scanned->completion_tokens) << body;
  EXPECT_EQ(tree->usage.total_tokens, scanned->total_tokens) << body;
  return true;
}

const std::string kCompletion =
    R"({"id":"chatcmpl-1","object":"chat.completion","created":1700000000,"model":"gpt-4o-mini","choices":[{"index":0,"message":{"role":"assistant","content":"Paris é \"x\"","refusal":null,"tool_calls":[{"id":"t","type":"function","function":{"name":"f","arguments":"{\"a\":1}"}}]},"logprobs":null,"finish_reason":"stop","usage":{"prompt_tokens":99}}],"usage":{"prompt_tokens":14,"completion_tokens":2,"total_tokens":16,"prompt_tokens_details":{"cached_tokens":0}},"system_fingerprint":"fp"})";

TEST(CompletionScan, ReadsTheUsageOfAnOrdinaryAnswer) {
  const auto usage = scan_completion(kCompletion);
  ASSERT_TRUE(usage.has_value());
  EXPECT_EQ(usage->prompt_tokens, 14);  // the top-level usage; a choice's is not read
  EXPECT_EQ(usage->completion_tokens, 2);
  EXPECT_EQ(usage->total_tokens, 16);
  EXPECT_TRUE(completion_agrees_with_tree(kCompletion));
  // No `object`, leading blank lines (DeepSeek while queued), no total, no usage at all.
  const auto bare = scan_completion(
      "\n\n "
      R"({"choices":[],"usage":{"prompt_tokens":3,"completion_tokens":4}})");
  ASSERT_TRUE(bare.has_value());
  EXPECT_EQ(bare->total_tokens, 7);
  const auto none = scan_completion(R"({"choices":[{"message":{"content":"x"}}],"usage":null})");
  ASSERT_TRUE(none.has_value());
  EXPECT_EQ(none->total_tokens, 0);
}

TEST(CompletionScan, LeavesErrorsAndAnythingUnusualToTheTreePath) {
  for (const std::string& body : std::initializer_list<std::string>{
           R"({"error":{"message":"slow down","code":"rate_limit_exceeded"}})",
           R"({"choices":[],"error":null})",
           R"({"object":"error","message":"x","choices":[]})",
           R"({"code":1001,"message":"busy"})",
           R"({"code":0,"message":"ok","choices":[]})",
           R"({"object":7,"choices":[]})",
           R"({"id":"x"})",      // no choices
           R"({"choices":{}})",  // not an array
           R"({"choices":null})",
           R"({"choices":[],"choices":[]})",  // repeated
           R"({"choices":[],"usage":{"prompt_tokens":1},"usage":null})",
           R"({"choices":[],"usage":{"prompt_tokens":1.0}})",  // a count to convert
           R"({"choices":[],"usage":{"prompt_tokens":-1}})",
           R"({"choices":[],"usage":{"total_tokens":null}})",
           R"({"choices":[{"message":{"content":"\ud800"}}]})",  // a lone surrogate
           R"({"choices":[]} x)",
           R"({"choices":[])",
           R"([{"choices":[]}])",
           "not json",
           "",
       }) {
    EXPECT_FALSE(scan_completion(body).has_value()) << body;
  }
}

TEST(CompletionScan, AgreesWithTheTreePathOnMutatedAnswers) {
  const std::vector<std::string> seeds = {
      kCompletion,
      R"({"choices":[],"usage":{"prompt_tokens":5,"completion_tokens":7}})",
      R"({"object":"chat.completion","choices":[{"message":{"content":"a"}}],"usage":{"total_tokens":3}})",
  };
  const std::string alphabet = R"({}[]":,0123456789.eE-+ \ntruefalsnull\u00e9abcerrorcode)";
  std::mt19937 rng(20261129);
  int accepted = 0;
  for (int i = 0; i < 30000; ++i) {
    const std::string body =
        bc::testing::mutate(seeds[static_cast<std::size_t>(i) % seeds.size()], rng, alphabet, 3, 4);
    if (completion_agrees_with_tree(body)) ++accepted;
    if (::testing::Test::HasFailure()) break;
  }
  EXPECT_GT(accepted, 1000);  // the property was exercised, not vacuously true
}

}  // namespace
}  // namespace bc::providers
