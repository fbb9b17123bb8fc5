// Scans the chunks of one stream in order, as scan_chunk() would, but reads a chunk that is
// the previous one with another content string by checking the bytes around the string and
// reading the string alone.
//
// Why: the chunks an OpenAI-compatible upstream sends differ mostly in their content text;
// id, object, created, model, fingerprint, index, logprobs and finish_reason are the same
// bytes every time. When the bytes before the previous chunk's content string and the bytes
// from its closing quote on are unchanged, scan_chunk() would take exactly the steps it took
// before, up to that string and after it, so only the string is read (≈2,400 → a few hundred
// instructions for a 250-byte chunk). Anything else gets the full scan_chunk(), which starts at
// `choices` when the bytes before it are those of the last chunk fully scanned (the finish and
// usage chunks after a run of content). A unit test and the chunk_scan fuzz target check that
// every answer equals scan_chunk()'s.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

#include "providers/chunk_scan.h"

namespace bc::providers {

class ChunkSequenceScanner {
 public:
  // scan_chunk(data), exactly. With `stays`, the caller promises that `data` stays valid
  // until forget(): the scanner then keeps a view of it, not a copy.
  std::optional<ChunkFields> scan(std::string_view data, bool stays = false);
  // scan() in two steps: the answer from the previous chunk, when `data` repeats it around a
  // new content string (repeat(); nullopt otherwise: not an error, the full scan decides); and
  // the full scan. Every byte of a repeat outside its content string is the previous chunk's,
  // and a content string read holds no control character, so a check the caller made of the
  // previous chunk's bytes (no line break, say) holds for the repeat too.
  std::optional<ChunkFields> scan_repeat(std::string_view data, bool stays = false);
  // A repeat at the front of `bytes`, whose end need not be known yet: the previous chunk's
  // bytes up to its content string, a content string scan_chunk() reads, the previous
  // chunk's bytes from its closing quote on, then `after`. Its size (without `after`, at most
  // `max_size`) with its content appended to `text`; 0, with nothing changed, otherwise. The
  // finish reason and usage are the previous chunk's, from finish_reason() and usage().
  std::size_t repeat(std::string_view bytes, std::string_view after, std::size_t max_size,
                     bool stays, std::string& text);
  const std::string& finish_reason() const { return finish_reason_; }
  const std::optional<Usage>& usage() const { return usage_; }
  std::optional<ChunkFields> scan_full(std::string_view data, bool stays = false);
  // The next scan is a full one (the previous chunk is no longer comparable, or its stream
  // is another one).
  void forget() {
    has_last_ = false;
    point_.reset();
  }
  // Whether a previous chunk is held, so scan_repeat() may answer.
  bool has_last() const { return has_last_; }
  // How many scans were answered from the previous chunk (for the tests).
  std::size_t reused() const { return reused_; }
  // How many full scans began where the previous full scan's `choices` began (for the tests).
  std::size_t resumed() const { return resumed_; }

 private:
  void remember(std::string_view data, bool stays, const ChunkFields& fields, std::size_t begin,
                std::size_t end);
  void keep(std::string_view data, bool stays);

  // The previous chunk the scan accepted with one content string: the caller's bytes
  // when they stay, else copied into copy_.
  std::string_view last_;
  std::string copy_;
  std::size_t begin_ = 0;  // its content string: first byte inside the quotes
  std::size_t end_ = 0;    // and its closing quote
  std::string finish_reason_;
  std::optional<Usage> usage_;
  bool has_last_ = false;
  std::size_t reused_ = 0;
  // Where the last full scan could resume, and that chunk's bytes up to there (its own, or
  // point_copy_).
  std::optional<detail::ScanPoint> point_;
  std::string_view point_bytes_;
  std::string point_copy_;
  std::size_t resumed_ = 0;
};

}  // namespace bc::providers
