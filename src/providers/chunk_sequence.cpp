#include "providers/chunk_sequence.h"

#include <cstring>

#include "core/json_plain_run.h"

namespace bc::providers {

std::optional<ChunkFields> ChunkSequenceScanner::scan(std::string_view data, bool stays) {
  if (auto repeat = scan_repeat(data, stays)) return repeat;
  return scan_full(data, stays);
}

std::optional<ChunkFields> ChunkSequenceScanner::scan_repeat(std::string_view data, bool stays) {
  ChunkFields fields;
  if (!repeat_into(data, stays, fields.text)) return std::nullopt;
  fields.finish_reason = finish_reason_;
  fields.usage = usage_;
  return fields;
}

bool ChunkSequenceScanner::repeat_into(std::string_view data, bool stays, std::string& text) {
  if (!has_last_) return false;
  // The previous chunk's bytes before its content string and from its closing quote on.
  const std::size_t tail = last_.size() - end_;
  if (data.size() < begin_ + tail || std::memcmp(data.data(), last_.data(), begin_) != 0 ||
      std::memcmp(data.data() + data.size() - tail, last_.data() + end_, tail) != 0) {
    return false;
  }
  const std::size_t end = data.size() - tail;
  // The usual content: plain characters up to the quote the tail starts with, copied as they
  // are; anything else (escapes, UTF-8, a stray quote) is read as the first pass reads it.
  const char* first = data.data() + begin_;
  const char* last = data.data() + end;
  if (json_plain_run_end(first, last) == last) {
    text.append(first, static_cast<std::size_t>(last - first));
  } else {
    const std::size_t before = text.size();
    if (!detail::content_string(data, begin_, end, text)) {
      text.resize(before);
      return false;
    }
  }
  keep(data, stays);
  end_ = end;
  ++reused_;
  return true;
}

std::size_t ChunkSequenceScanner::plain_repeat(std::string_view bytes, std::string_view after,
                                               std::size_t max_size, bool stays,
                                               std::string& text) {
  if (!has_last_) return 0;
  const std::size_t tail = last_.size() - end_;
  if (bytes.size() < begin_ + tail + after.size() ||
      std::memcmp(bytes.data(), last_.data(), begin_) != 0) {
    return 0;
  }
  const char* first = bytes.data() + begin_;
  const char* stop = json_plain_run_end(first, bytes.data() + bytes.size());
  const auto end = static_cast<std::size_t>(stop - bytes.data());
  const std::size_t size = end + tail;
  if (size + after.size() > bytes.size() || size > max_size || *stop != '"' ||
      std::memcmp(stop, last_.data() + end_, tail) != 0 ||
      bytes.substr(size, after.size()) != after) {
    return 0;
  }
  text.append(first, static_cast<std::size_t>(stop - first));
  keep(bytes.substr(0, size), stays);
  end_ = end;
  ++reused_;
  return size;
}

std::optional<ChunkFields> ChunkSequenceScanner::scan_full(std::string_view data, bool stays) {
  // A chunk that begins as the last one fully scanned did, up to its `choices`, is scanned
  // from there: everything before (id, object, created, model, fingerprint) was read then.
  const bool resumes = point_ && data.size() > point_->offset &&
                       std::memcmp(data.data(), point_bytes_.data(), point_->offset) == 0;
  auto fast = detail::scan_chunk_fast_spans(data, resumes ? &*point_ : nullptr);
  if (resumes) ++resumed_;
  point_.reset();
  if (!fast) {
    has_last_ = false;
    return detail::scan_chunk_sax(data);
  }
  if (fast->choices) {
    point_ = fast->choices;
    if (stays) {
      point_bytes_ = data;
    } else {
      point_copy_.assign(data.substr(0, point_->offset));
      point_bytes_ = point_copy_;
    }
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
