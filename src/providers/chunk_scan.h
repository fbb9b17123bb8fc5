// Reads what the gateway needs from one OpenAI chat.completion.chunk without building its
// JSON tree: the text of every choice's delta, the first finish reason, and usage (top level
// or inside a choice, as Moonshot sends it).
//
// Why: a stream is mostly chunks that are relayed as the upstream's own bytes, and building a
// tree of each (~250 bytes, ~20 nodes) only to read three fields was most of the streamed
// path's CPU. The scan is a SAX pass (Boost.JSON's basic_parser) that also validates the
// whole chunk. It accepts only the ordinary shape and leaves everything else to the tree path
// (OpenAiStreamDecoder), which is the reference: for every chunk the scan accepts, its result
// equals what the tree path reads (a unit test and the stream fuzz target check this).
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
// The two passes scan_chunk() makes, exposed for the tests and the fuzz target: a
// hand-written scanner for the usual chunk, which answers nullopt whenever it is not sure,
// then a SAX scan with Boost.JSON's parser, which decides the rest. Whatever the first
// accepts, the second accepts with the same fields.
std::optional<ChunkFields> scan_chunk_fast(std::string_view data);
std::optional<ChunkFields> scan_chunk_sax(std::string_view data);

// The first pass with where the chunk's content string lies, for ChunkSequenceScanner: set
// when exactly one content string was read (offsets of its first byte inside the quotes and
// of its closing quote); and where it may resume in a chunk that begins with the same bytes.
// A point of the first pass in a chunk's root object where it can resume: the offset of a
// member's start (after '{' or ','), the root's members read before it and whether `object`
// was among them. Only taken where nothing read before it is kept in the fields.
struct ScanPoint {
  std::size_t offset = 0;
  unsigned seen = 0;
  bool has_object = false;
};

struct FastChunkScan {
  ChunkFields fields;
  // Where the root's `choices` member began, when the first pass could resume there.
  std::optional<ScanPoint> choices{};
  bool one_content = false;
  std::size_t content_begin = 0;
  std::size_t content_end = 0;
};
// With `resume`, a point an earlier scan of a chunk gave whose bytes before it `data` shares:
// the scan starts there, with the answer a scan from the start would give.
std::optional<FastChunkScan> scan_chunk_fast_spans(std::string_view data,
                                                   const ScanPoint* resume = nullptr);

// Reads the JSON string of `data` whose first byte inside the quotes is at `begin`, decoded
// into `out`, as the first pass reads a content string; true only when it is a string the
// first pass accepts and its closing quote is at `end`.
bool content_string(std::string_view data, std::size_t begin, std::size_t end, std::string& out);
}  // namespace detail

}  // namespace bc::providers
