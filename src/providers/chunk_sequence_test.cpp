#include "providers/chunk_sequence.h"

#include <random>
#include <string>
#include <vector>

#include <gtest/gtest.h>

namespace bc::providers {
namespace {

// A stream's chunks as OpenAI sends them: only the content differs from one to the next.
std::string chunk(std::string_view content) {
  return R"({"id":"chatcmpl-1","object":"chat.completion.chunk","created":1700000000,"model":"gpt-4o-mini","system_fingerprint":"fp_1","choices":[{"index":0,"delta":{"content":")" +
         std::string(content) + R"("},"logprobs":null,"finish_reason":null}]})";
}

// Scans `data` with `scanner` and checks the answer against scan_chunk()'s.
void expect_as_scan_chunk(ChunkSequenceScanner& scanner, const std::string& data) {
  const auto expected = scan_chunk(data);
  const auto got = scanner.scan(data);
  ASSERT_EQ(got.has_value(), expected.has_value()) << data;
  if (!got) return;
  EXPECT_EQ(got->text, expected->text) << data;
  EXPECT_EQ(got->finish_reason, expected->finish_reason) << data;
  ASSERT_EQ(got->usage.has_value(), expected->usage.has_value()) << data;
  if (got->usage) {
    EXPECT_EQ(got->usage->prompt_tokens, expected->usage->prompt_tokens) << data;
    EXPECT_EQ(got->usage->completion_tokens, expected->usage->completion_tokens) << data;
    EXPECT_EQ(got->usage->total_tokens, expected->usage->total_tokens) << data;
  }
}

TEST(ChunkSequence, ReadsOnlyTheContentOfAChunkLikeThePreviousOne) {
  ChunkSequenceScanner scanner;
  const std::vector<std::string> contents = {
      "HTTP", "/1.1", " keep", "-alive", "", "é \\\"q\\\"\\n", "a longer piece of text"};
  for (const auto& c : contents) expect_as_scan_chunk(scanner, chunk(c));
  EXPECT_EQ(scanner.reused(), contents.size() - 1);
  EXPECT_EQ(scanner.scan(chunk("x\\\"y"))->text, "x\"y");

  // Chunks that stay where they are (a decoder's read buffer) are compared in place.
  std::vector<std::string> kept;
  for (const auto& c : contents) kept.push_back(chunk(c));
  ChunkSequenceScanner in_place;
  for (const auto& k : kept) {
    const auto got = in_place.scan(k, true);
    ASSERT_TRUE(got);
    EXPECT_EQ(got->text, scan_chunk(k)->text);
  }
  EXPECT_EQ(in_place.reused(), kept.size() - 1);
}

TEST(ChunkSequence, ScansAnythingElseInFull) {
  ChunkSequenceScanner scanner;
  expect_as_scan_chunk(scanner, chunk("a"));
  // The content string would end early, hold a `\u` escape or a control character, or
  // another member changed: each is scanned in full and answers as scan_chunk().
  for (const std::string content : {"a\"b", "\\u00e9", "a\x01", "b\\", "\\x"}) {
    expect_as_scan_chunk(scanner, chunk(content));
  }
  std::string finish = chunk("z");
  finish.replace(finish.find("null}]"), 4, R"("stop")");
  expect_as_scan_chunk(scanner, finish);
  EXPECT_EQ(scanner.scan(finish)->finish_reason, "stop");
  expect_as_scan_chunk(scanner, R"({"object":"chat.completion.chunk","choices":[]})");
  expect_as_scan_chunk(scanner, chunk("after"));
  scanner.forget();
  const auto before = scanner.reused();
  expect_as_scan_chunk(scanner, chunk("again"));
  EXPECT_EQ(scanner.reused(), before);
}

// A repeat read from the front of a stream's bytes, its end found by reading it: any content
// string the scan reads (plain, escaped, UTF-8), and only when `after` follows and it
// fits `max_size`; otherwise nothing changes (no text, no state), and the full scan decides.
TEST(ChunkSequence, ARepeatIsReadFromTheFrontOfTheBytes) {
  ChunkSequenceScanner scanner;
  ASSERT_TRUE(scanner.scan(chunk("a")));
  std::string text = "x";
  const std::string b = chunk("bb");
  EXPECT_EQ(scanner.repeat(b + "\n\nmore", "\n\n", 1000, false, text), b.size());
  EXPECT_EQ(text, "xbb");
  EXPECT_EQ(scanner.reused(), 1u);
  for (const std::string& bytes :
       {chunk("c") + "\r\n\r\n", chunk("c") + "\n", chunk("c"), chunk("c") + "x\n\n",
        chunk("c").substr(1) + "\n\n", chunk("c\x01") + "\n\n", chunk("c\\ud800") + "\n\n",
        chunk("\xc3") + "\n\n", chunk("c\\q") + "\n\n"}) {
    EXPECT_EQ(scanner.repeat(bytes, "\n\n", 1000, false, text), 0u) << bytes;
  }
  EXPECT_EQ(scanner.repeat(chunk("c") + "\n\n", "\n\n", chunk("c").size() - 1, false, text), 0u);
  EXPECT_EQ(text, "xbb");
  EXPECT_EQ(scanner.reused(), 1u);
  // The state is unchanged: the next repeat still reads, and as scan_chunk() would.
  EXPECT_EQ(scanner.repeat(chunk("c") + "\n\n", "\n\n", chunk("c").size(), false, text),
            chunk("c").size());
  EXPECT_EQ(text, "xbbc");
  // Content with UTF-8 and escapes, a quote among them, is read as the scan reads it.
  const std::string escaped = chunk("\xc3\xa9\\\"\\n");
  EXPECT_EQ(scanner.repeat(escaped + "\n\n", "\n\n", 1000, false, text), escaped.size());
  EXPECT_EQ(text, "xbbc\xc3\xa9\"\n");
  EXPECT_EQ(scanner.scan(chunk("d\\n"))->text, "d\n");
  EXPECT_EQ(scanner.reused(), 4u);
  // Nothing is no repeat, with or without a chunk before.
  EXPECT_FALSE(scanner.scan_repeat(""));
  EXPECT_FALSE(ChunkSequenceScanner().scan_repeat(""));
  EXPECT_FALSE(scanner.scan(""));
}

TEST(ChunkSequence, AnswersAsScanChunkOnMutatedSequences) {
  const std::vector<std::string> seeds = {
      chunk("Hello"),
      R"({"object":"chat.completion.chunk","choices":[{"delta":{"content":"a"}},{"delta":{},"finish_reason":"length"}],"usage":{"prompt_tokens":5,"completion_tokens":7}})",
      R"( {"object" : "chat.completion.chunk", "choices":[{"delta":{"content":"é\n"} }] } )",
  };
  const std::string alphabet = R"({}[]":,0123456789 \nu00e9abc)";
  std::mt19937 rng(20261129);
  ChunkSequenceScanner scanner;
  for (int i = 0; i < 20000 && !::testing::Test::HasFailure(); ++i) {
    // Runs of eight variants of one seed, as a stream sends runs of like chunks.
    std::string data = seeds[static_cast<std::size_t>(i / 8) % seeds.size()];
    // Mostly a new content, sometimes an edit anywhere, so that both paths are taken.
    const auto spans = detail::scan_chunk_spans(data);
    if (spans && spans->one_content && rng() % 4 != 0) {
      std::string content;
      for (std::size_t n = rng() % 6; n > 0; --n) content += alphabet[rng() % alphabet.size()];
      data.replace(spans->content_begin, spans->content_end - spans->content_begin, content);
    } else if (!data.empty()) {
      data[rng() % data.size()] = alphabet[rng() % alphabet.size()];
    }
    expect_as_scan_chunk(scanner, data);
  }
  EXPECT_GT(scanner.reused(), 5000u);   // the shortcut was exercised, not vacuously right
  EXPECT_GT(scanner.resumed(), 1000u);  // and so was the scan resumed at `choices`
}

// The finish and usage chunks after a run of content begin as the chunks before them did: their
// full scan starts at `choices`, in the state the last full scan had there, and answers as a scan
// from the start. Where the bytes before `choices` differ, or something read before it would
// have to be carried (usage before choices), the scan starts at the beginning.
TEST(ChunkSequence, AFullScanResumesAtChoicesAfterTheSamePrefix) {
  for (const bool stays : {false, true}) {
    ChunkSequenceScanner scanner;
    std::vector<std::string> kept;  // chunks that stay where they are, for `stays`
    kept.reserve(16);
    auto scan = [&](const std::string& data) {
      kept.push_back(data);
      const auto expected = scan_chunk(data);
      const auto got = scanner.scan(kept.back(), stays);
      ASSERT_EQ(got.has_value(), expected.has_value()) << data;
      if (!got) return;
      EXPECT_EQ(got->text, expected->text) << data;
      EXPECT_EQ(got->finish_reason, expected->finish_reason) << data;
      EXPECT_EQ(got->usage.has_value(), expected->usage.has_value()) << data;
    };
    scan(chunk("a"));
    scan(chunk("b"));
    EXPECT_EQ(scanner.resumed(), 0u);
    std::string finish = chunk("");
    finish.replace(finish.find(R"({"content":""})"), 14, "{}");
    finish.replace(finish.find("null}]"), 4, R"("stop")");
    scan(finish);
    EXPECT_EQ(scanner.resumed(), 1u);
    std::string usage = chunk("");
    usage.replace(usage.find(R"("choices":)"), std::string::npos,
                  R"("choices":[],"usage":{"prompt_tokens":3,"completion_tokens":4}})");
    scan(usage);
    EXPECT_EQ(scanner.resumed(), 2u);
    EXPECT_EQ(scanner.scan(kept.back(), stays)->usage->total_tokens, 7);
    // The resumed scan still finds what is wrong after `choices`.
    scan(usage.substr(0, usage.size() - 1));
    EXPECT_EQ(scanner.resumed(), 4u);
    // Another id: from the start. `object` after `choices`, once resumed: still required.
    std::string other = chunk("c");
    other[10] = 'X';
    scan(other);
    EXPECT_EQ(scanner.resumed(), 4u);
    scan(R"({"id":"x","choices":[],"object":"chat.completion.chunk"})");
    scan(R"({"id":"x","choices":[{"delta":{"content":"d"}}],"object":"chat.completion.chunk"})");
    scan(R"({"id":"x","choices":[{"delta":{"content":"e"}}]})");
    EXPECT_EQ(scanner.resumed(), 6u);
    // The scan refused the last chunk: no point is kept from it.
    scan(R"({"id":"x","choices":[{"delta":{"content":"f"}}],"object":"error"})");
    EXPECT_EQ(scanner.resumed(), 6u);
    // Usage before `choices`: no point to resume at.
    scan(R"({"object":"chat.completion.chunk","usage":{"prompt_tokens":1},"choices":[]})");
    scan(R"({"object":"chat.completion.chunk","usage":{"prompt_tokens":1},"choices":[{}]})");
    EXPECT_EQ(scanner.resumed(), 6u);
  }
}

}  // namespace
}  // namespace bc::providers
