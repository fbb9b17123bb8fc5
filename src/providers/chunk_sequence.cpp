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
  // (0: no repeat; a repeat is never empty, it holds the previous chunk's bytes.)
  const std::size_t size = repeat(data, {}, data.size(), stays, fields.text);
  if (size == 0 || size != data.size()) return std::nullopt;
  fields.finish_reason = finish_reason_;
  fields.usage = usage_;
  return fields;
}

std::size_t ChunkSequenceScanner::repeat(std::string_view bytes, std::string_view after,
                                         std::size_t max_size, bool stays, std::string& text) {
  if (!has_last_) return 0;
  // The previous chunk's bytes before its content string and from its closing quote on.
  const std::size_t tail = last_.size() - end_;
  if (bytes.size() < begin_ + tail + after.size() ||
      std::memcmp(bytes.data(), last_.data(), begin_) != 0) {
    return 0;
  }
  // The usual content, plain characters up to the closing quote, is copied as it is; anything
  // else (escapes, UTF-8) is read as the scan reads it. The string ends at its first
  // unescaped quote, where the previous chunk's tail must begin.
  const std::size_t before = text.size();
  const char* first = bytes.data() + begin_;
  const char* stop = json_plain_run_end(first, bytes.data() + bytes.size());
  std::size_t end = static_cast<std::size_t>(stop - bytes.data());
  if (stop != bytes.data() + bytes.size() && *stop == '"') {
    text.append(first, stop);
  } else {
    end = detail::content_string(bytes, begin_, text);
  }
  const std::size_t size = end + tail;
  if (end == std::string_view::npos || size > max_size || size + after.size() > bytes.size() ||
      std::memcmp(bytes.data() + end, last_.data() + end_, tail) != 0 ||
      bytes.substr(size, after.size()) != after) {
    text.resize(before);
    return 0;
  }
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
  auto fast = detail::scan_chunk_spans(data, resumes ? &*point_ : nullptr);
  if (resumes) ++resumed_;
  point_.reset();
  if (!fast) {
    has_last_ = false;
    return std::nullopt;
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
