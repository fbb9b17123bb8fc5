#include "providers/chunk_sequence.h"

#include <cstring>

namespace bc::providers {

std::optional<ChunkFields> ChunkSequenceScanner::scan(std::string_view data, bool stays) {
  if (auto repeat = scan_repeat(data, stays)) return repeat;
  return scan_full(data, stays);
}

std::optional<ChunkFields> ChunkSequenceScanner::scan_repeat(std::string_view data, bool stays) {
  if (has_last_) {
    // The previous chunk's bytes before its content string and from its closing quote on.
    const std::size_t tail = last_.size() - end_;
    if (data.size() >= begin_ + tail && std::memcmp(data.data(), last_.data(), begin_) == 0 &&
        std::memcmp(data.data() + data.size() - tail, last_.data() + end_, tail) == 0) {
      const std::size_t end = data.size() - tail;
      ChunkFields fields;
      if (detail::content_string(data, begin_, end, fields.text)) {
        fields.finish_reason = finish_reason_;
        fields.usage = usage_;
        keep(data, stays);
        end_ = end;
        ++reused_;
        return fields;
      }
    }
  }
  return std::nullopt;
}

std::optional<ChunkFields> ChunkSequenceScanner::scan_full(std::string_view data, bool stays) {
  auto fast = detail::scan_chunk_fast_spans(data);
  if (!fast) {
    has_last_ = false;
    return detail::scan_chunk_sax(data);
  }
  if (fast->one_content) {
    remember(data, stays, fast->fields, fast->content_begin, fast->content_end);
  } else {
    has_last_ = false;
  }
  return std::move(fast->fields);
}

void ChunkSequenceScanner::keep(std::string_view data, bool stays) {
  if (stays) {
    last_ = data;
  } else {
    copy_.assign(data);
    last_ = copy_;
  }
}

void ChunkSequenceScanner::remember(std::string_view data, bool stays, const ChunkFields& fields,
                                    std::size_t begin, std::size_t end) {
  keep(data, stays);
  begin_ = begin;
  end_ = end;
  finish_reason_ = fields.finish_reason;
  usage_ = fields.usage;
  has_last_ = true;
}

}  // namespace bc::providers
