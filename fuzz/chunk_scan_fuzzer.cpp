// providers/chunk_scan.h against the tree path it stands in for: whenever scan_chunk() accepts
// a chunk, OpenAiStreamDecoder's tree path (forced on) must accept it too and read the same
// text, finish reason and usage, relaying the same bytes; and whenever scan_completion()
// accepts the input as a non-streamed answer, the tree path accepts it with the same usage; and
// ChunkSequenceScanner answers as scan_chunk() on the chunk and on the variants of it a stream
// would send next (another content string, taken from the input's own bytes, or one byte
// changed anywhere).
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "fuzz_support.h"
#include "providers/chunk_scan.h"
#include "providers/chunk_sequence.h"
#include "providers/openai.h"

namespace {

// The OpenAI decoder with the scan switched off: every chunk is parsed into a tree.
class TreeDecoder final : public bc::providers::OpenAiStreamDecoder {
 public:
  TreeDecoder() : OpenAiStreamDecoder(bc::providers::openai_dialect()) {}

 protected:
  bool adjusts_chunks() const override { return true; }
};

bool plain(std::string_view data) {
  if (data.empty() || data == "[DONE]") return false;
  if (data.find_first_of("\r\n") != std::string_view::npos) return false;
  const auto blank = [](char c) { return c == ' ' || c == '\t'; };
  return !blank(data.front()) && !blank(data.back());
}

bool same(const bc::providers::ChunkFields& a, const bc::providers::ChunkFields& b) {
  if (a.text != b.text || a.finish_reason != b.finish_reason) return false;
  if (a.usage.has_value() != b.usage.has_value()) return false;
  return !a.usage || (a.usage->prompt_tokens == b.usage->prompt_tokens &&
                      a.usage->completion_tokens == b.usage->completion_tokens &&
                      a.usage->total_tokens == b.usage->total_tokens);
}

// Scans `data` with `sequence` and checks it answers as scan_chunk().
void check_sequence(bc::providers::ChunkSequenceScanner& sequence, std::string_view data) {
  const auto got = sequence.scan(data);
  const auto expected = bc::providers::scan_chunk(data);
  if (got.has_value() != expected.has_value()) {
    bc::fuzz::fail("the sequence scan and scan_chunk disagree on accepting a chunk");
  }
  if (got && !same(*got, *expected)) {
    bc::fuzz::fail("the sequence scan read other fields than scan_chunk");
  }
}

// The chunk, then chunks like it with another content string or one byte changed.
void check_sequences(std::string_view chunk) {
  bc::providers::ChunkSequenceScanner sequence;
  check_sequence(sequence, chunk);
  const auto spans = bc::providers::detail::scan_chunk_spans(chunk);
  if (!spans || !spans->one_content) return;
  const std::size_t begin = spans->content_begin;
  const std::size_t length = spans->content_end - begin;
  for (std::size_t k = 0; k < 4; ++k) {
    const std::size_t from = (chunk.size() * (2 * k + 1)) / 8;
    std::string next(chunk);
    next.replace(begin, length, chunk.substr(from, k * 3));
    check_sequence(sequence, next);
  }
  for (std::size_t k = 0; k < 3; ++k) {
    std::string next(chunk);
    const std::size_t at = (chunk.size() * (k + 1)) / 4;
    next[at] = static_cast<char>(next[at] ^ (k == 0 ? 0x22 : 0x1));
    check_sequence(sequence, next);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view chunk(reinterpret_cast<const char*>(data), size);
  // The same input as a whole non-streamed answer: whatever the completion scan accepts, the
  // tree path accepts with the same usage.
  if (const auto usage = bc::providers::scan_completion(chunk)) {
    const bc::UpstreamResponse answer{200, {}, std::string(chunk)};
    const auto dialect = bc::providers::openai_dialect();
    auto parsed = bc::providers::parse_answer(answer, dialect);
    if (!parsed) bc::fuzz::fail("the completion scan accepted an answer parse_answer refuses");
    const auto tree = bc::providers::completion_response(std::move(parsed).value(), dialect);
    if (!tree) bc::fuzz::fail("the completion scan accepted an answer the tree path refuses");
    if (tree->usage.prompt_tokens != usage->prompt_tokens ||
        tree->usage.completion_tokens != usage->completion_tokens ||
        tree->usage.total_tokens != usage->total_tokens) {
      bc::fuzz::fail("the completion scan read another usage than the tree path");
    }
  }
  check_sequences(chunk);
  const auto scanned = bc::providers::scan_chunk(chunk);
  if (!scanned || !plain(chunk)) return 0;
  TreeDecoder tree;
  std::vector<bc::ChatDelta> out;
  const std::string event = "data: " + std::string(chunk) + "\n\n";
  if (const bc::Status st = tree.feed(event, out); !st) {
    bc::fuzz::fail("the scan accepted a chunk the tree path refuses: " + st.error().message);
  }
  if (out.size() != 1) bc::fuzz::fail("the tree path made no single delta of an accepted chunk");
  const bc::ChatDelta& d = out[0];
  if (d.text != scanned->text) bc::fuzz::fail("text differs: " + d.text + " vs " + scanned->text);
  if (d.finish_reason != scanned->finish_reason) bc::fuzz::fail("finish_reason differs");
  if (d.usage.has_value() != scanned->usage.has_value()) bc::fuzz::fail("usage presence differs");
  if (d.usage && (d.usage->prompt_tokens != scanned->usage->prompt_tokens ||
                  d.usage->completion_tokens != scanned->usage->completion_tokens ||
                  d.usage->total_tokens != scanned->usage->total_tokens)) {
    bc::fuzz::fail("usage differs");
  }
  if (d.chunk_json != chunk) bc::fuzz::fail("the tree path rewrote a chunk the scan relays");
  return 0;
}
