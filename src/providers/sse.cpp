#include "providers/sse.h"

namespace bc::providers {

namespace {
Error sse_error(std::string message) {
  Error e = Error::upstream(std::move(message), "invalid_stream");
  e.retryable = true;
  return e;
}
}  // namespace

Status SseParser::fail(std::string message) {
  failed_ = true;
  error_ = std::move(message);
  partial_.clear();
  partial_.shrink_to_fit();
  data_.clear();
  data_.shrink_to_fit();
  return sse_error(error_);
}

Status SseParser::feed(std::string_view bytes, std::vector<SseEvent>& out) {
  if (failed_) return sse_error(error_);
  while (!bytes.empty()) {
    const auto lf = bytes.find('\n');
    if (lf == std::string_view::npos) {
      if (partial_.size() + bytes.size() > max_event_bytes_) {
        return fail("upstream sent an SSE line longer than " + std::to_string(max_event_bytes_) +
                    " bytes");
      }
      partial_.append(bytes);
      return {};
    }
    Status st;
    if (partial_.empty()) {
      // The common case: the whole line is in this piece, parse it in place.
      if (lf > max_event_bytes_) {
        return fail("upstream sent an SSE line longer than " + std::to_string(max_event_bytes_) +
                    " bytes");
      }
      st = line(bytes.substr(0, lf), out);
    } else {
      if (partial_.size() + lf > max_event_bytes_) {
        return fail("upstream sent an SSE line longer than " + std::to_string(max_event_bytes_) +
                    " bytes");
      }
      partial_.append(bytes.substr(0, lf));
      st = line(partial_, out);
      partial_.clear();
    }
    if (!st) return st;
    bytes.remove_prefix(lf + 1);
  }
  return {};
}

Status SseParser::finish(std::vector<SseEvent>& out) {
  if (failed_) return sse_error(error_);
  if (!partial_.empty()) {
    std::string last = std::move(partial_);
    partial_.clear();
    if (auto st = line(last, out); !st) return st;
  }
  return line({}, out);  // an empty line dispatches a pending event
}

Status SseParser::line(std::string_view text, std::vector<SseEvent>& out) {
  if (!text.empty() && text.back() == '\r') text.remove_suffix(1);
  if (text.empty()) {
    if (has_data_) out.push_back(SseEvent{std::move(name_), std::move(data_)});
    name_.clear();
    data_.clear();
    has_data_ = false;
    return {};
  }
  if (text.front() == ':') return {};  // a comment (keep-alive)

  std::string_view field = text;
  std::string_view value;
  if (const auto colon = text.find(':'); colon != std::string_view::npos) {
    field = text.substr(0, colon);
    value = text.substr(colon + 1);
    if (!value.empty() && value.front() == ' ') value.remove_prefix(1);
  }
  if (field == "data") {
    const std::size_t extra = has_data_ ? 1 : 0;
    if (data_.size() + extra + value.size() > max_event_bytes_) {
      return fail("upstream sent an SSE event longer than " + std::to_string(max_event_bytes_) +
                  " bytes");
    }
    if (has_data_) data_.push_back('\n');
    data_.append(value);
    has_data_ = true;
  } else if (field == "event") {
    name_.assign(value);
  }
  // `id`, `retry` and unknown fields carry nothing a provider needs.
  return {};
}

}  // namespace bc::providers
