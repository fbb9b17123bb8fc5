// Reads what the gateway needs from one OpenAI chat.completion.chunk without building its
// JSON tree: the text of every choice's delta, the first finish reason, and usage (top level
// or inside a choice, as Moonshot sends it).
//
// Why: a stream is mostly chunks that are relayed as the upstream's own bytes, and building a
// tree of each (~250 bytes, ~20 nodes) only to read three fields was most of the streamed
// path's CPU. The scan is one hand-written pass (chunk_scan.cpp) that also validates the whole
// chunk. It accepts only what it can decide exactly and leaves everything else to the tree
// path (OpenAiStreamDecoder), which is the reference: for every chunk the scan accepts, its
// result equals what the tree path reads (a unit test and the chunk_scan fuzz target check
// this).
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "core/chat.h"

namespace bc::providers {

struct ChunkFields {
  std::string text;           // the deltas' content, concatenated in choice order
  std::string finish_reason;  // the first string finish_reason
  std::optional<Usage> usage;
};

// The fields of `data` when it is a JSON object that the relay may pass on unchanged: it has
// a string `object` other than "error", a `choices` array, and no top-level `error` or `code`
// member (an error report), and no member the scan reads appears twice. nullopt otherwise
// (malformed JSON included): the caller then takes the tree path, which decides.
std::optional<ChunkFields> scan_chunk(std::string_view data);

// The usage of a non-streamed answer `body` when it is a chat.completion the relay may pass on
// as its own bytes: a JSON object with a `choices` array, no top-level `error` or `code` member,
// an `object` that is a string other than "error" when present, and no member the scan reads
// appearing twice; missing or non-object usage counts zero. nullopt when the scan is not sure
// (malformed JSON included): the caller then takes the tree path (parse_answer and
// completion_response), which decides and is the reference (a fuzz target checks that
// whatever this accepts, the tree path accepts with the same usage).
std::optional<Usage> scan_completion(std::string_view body);

namespace detail {
// A point of the scan in a chunk's root object where it can resume: the offset of a member's
// start (after '{' or ','), the root's members read before it and whether `object` was among
// them. Only taken where nothing read before it is kept in the fields.
struct ScanPoint {
  std::size_t offset = 0;
  unsigned seen = 0;
  bool has_object = false;
};

// scan_chunk()'s answer with what ChunkSequenceScanner needs to read the next chunk faster.
struct ChunkSpans {
  ChunkFields fields;
  // Where the root's `choices` member began, when the scan could resume there.
  std::optional<ScanPoint> choices{};
  // Set when exactly one content string was read: offsets of its first byte inside the quotes
  // and of its closing quote.
  bool one_content = false;
  std::size_t content_begin = 0;
  std::size_t content_end = 0;
};
// scan_chunk() with its spans. With `resume`, a point an earlier scan of a chunk gave whose
// bytes before it `data` shares: the scan starts there, with the answer a scan from the start
// would give.
std::optional<ChunkSpans> scan_chunk_spans(std::string_view data,
                                           const ScanPoint* resume = nullptr);

// Reads the JSON string of `data` whose first byte inside the quotes is at `begin`, decoded
// and appended to `out`, as the scan reads a content string: the offset of its closing quote,
// or npos when it is not a string the scan accepts (`out` then holds a part).
std::size_t content_string(std::string_view data, std::size_t begin, std::string& out);
}  // namespace detail

}  // namespace bc::providers
