#include "providers/sse.h"

namespace bc::providers {

namespace {
Error sse_error(std::string message) {
  Error e = Error::upstream(std::move(message), "invalid_stream");
  e.retryable = true;
  return e;
}

// A line's field and value: the field up to the first ':', the value after it with one
// leading space dropped (a line without ':' is a field with an empty value).
struct FieldLine {
  std::string_view field;
  std::string_view value;
};
FieldLine split_field(std::string_view text) {
  const auto colon = text.find(':');
  if (colon == std::string_view::npos) return {text, {}};
  std::string_view value = text.substr(colon + 1);
  if (!value.empty() && value.front() == ' ') value.remove_prefix(1);
  return {text.substr(0, colon), value};
}

std::string too_long(std::string_view what, std::size_t limit) {
  return "upstream sent an SSE " + std::string(what) + " longer than " + std::to_string(limit) +
         " bytes";
}
}  // namespace

Status SseParser::fail(std::string message) {
  failed_ = true;
  error_ = std::move(message);
  partial_.clear();
  partial_.shrink_to_fit();
  data_.clear();
  data_.shrink_to_fit();
  data_view_ = {};
  data_in_view_ = false;
  return sse_error(error_);
}

void SseParser::clear_dispatched() {
  if (!dispatched_) return;
  dispatched_ = false;
  name_.clear();
  data_.clear();
  data_view_ = {};
  data_in_view_ = false;
  has_data_ = false;
}

SseEventView SseParser::event() const {
  return SseEventView{.name = name_, .data = data_in_view_ ? data_view_ : std::string_view(data_)};
}

Result<std::optional<SseEventView>> SseParser::next(std::string_view& bytes) {
  if (failed_) return sse_error(error_);
  clear_dispatched();
  while (!bytes.empty()) {
    const auto lf = bytes.find('\n');
    if (lf == std::string_view::npos) {
      if (partial_.size() + bytes.size() > max_event_bytes_) {
        return fail(too_long("line", max_event_bytes_)).error();
      }
      partial_.append(bytes);
      bytes = {};
      break;
    }
    if (partial_.empty() && !has_data_ && lf <= max_event_bytes_) {
      if (auto ev = one_line_event(bytes, lf)) return ev;
    }
    Status st;
    bool ended = false;
    if (partial_.empty()) {
      // The common case: the whole line is in these bytes, parse it in place.
      if (lf > max_event_bytes_) return fail(too_long("line", max_event_bytes_)).error();
      st = line(bytes.substr(0, lf), true, ended);
    } else {
      if (partial_.size() + lf > max_event_bytes_) {
        return fail(too_long("line", max_event_bytes_)).error();
      }
      partial_.append(bytes.substr(0, lf));
      st = line(partial_, false, ended);
      partial_.clear();
    }
    bytes.remove_prefix(lf + 1);
    if (!st) return st.error();
    if (ended) {
      dispatched_ = true;
      return std::optional<SseEventView>(event());
    }
  }
  // The bytes ran out inside an event: its data line must outlive them.
  if (data_in_view_) {
    data_.assign(data_view_);
    data_in_view_ = false;
  }
  return std::optional<SseEventView>();
}

std::optional<SseEventView> SseParser::one_line_event(std::string_view& bytes, std::size_t lf) {
  // What line() would do with a `data:` line and the empty line after it, in one step.
  std::string_view text = bytes.substr(0, lf);
  if (!text.starts_with("data:")) return std::nullopt;
  std::size_t used = lf + 1;
  if (used < bytes.size() && bytes[used] == '\n') {
    used += 1;
  } else if (used + 1 < bytes.size() && bytes[used] == '\r' && bytes[used + 1] == '\n') {
    used += 2;
  } else {
    return std::nullopt;  // no empty line right after it
  }
  const bool canonical =
      used == lf + 2 && text.back() != '\r' && name_.empty() && text.starts_with("data: ");
  const std::string_view raw = bytes.substr(0, used);
  if (text.back() == '\r') text.remove_suffix(1);
  data_view_ = split_field(text).value;
  data_in_view_ = true;
  has_data_ = true;
  dispatched_ = true;
  bytes.remove_prefix(used);
  auto ev = event();
  ev.one_line = true;
  if (canonical) ev.raw = raw;
  return ev;
}

Status SseParser::feed(std::string_view bytes, std::vector<SseEvent>& out) {
  for (;;) {
    auto ev = next(bytes);
    if (!ev) return ev.error();
    if (!*ev) return {};
    out.push_back(SseEvent{std::string((*ev)->name), std::string((*ev)->data)});
  }
}

Status SseParser::finish(std::vector<SseEvent>& out) {
  if (failed_) return sse_error(error_);
  clear_dispatched();
  bool ended = false;
  if (!partial_.empty()) {
    std::string last = std::move(partial_);
    partial_.clear();
    if (auto st = line(last, false, ended); !st) return st;
  }
  if (!ended) {
    if (auto st = line({}, false, ended); !st) return st;  // an empty line ends the event
  }
  if (ended) {
    const SseEventView ev = event();
    out.push_back(SseEvent{std::string(ev.name), std::string(ev.data)});
    dispatched_ = true;
    clear_dispatched();
  }
  return {};
}

Status SseParser::line(std::string_view text, bool in_input, bool& ended) {
  if (!text.empty() && text.back() == '\r') text.remove_suffix(1);
  if (text.empty()) {
    if (has_data_) {
      ended = true;
      return {};
    }
    name_.clear();
    return {};
  }
  if (text.front() == ':') return {};  // a comment (keep-alive)

  const auto [field, value] = split_field(text);
  if (field == "data") {
    const std::size_t held = data_in_view_ ? data_view_.size() : data_.size();
    const std::size_t extra = has_data_ ? 1 : 0;
    if (held + extra + value.size() > max_event_bytes_) {
      return fail(too_long("event", max_event_bytes_));
    }
    if (!has_data_ && in_input) {
      data_view_ = value;
      data_in_view_ = true;
    } else {
      if (data_in_view_) {
        data_.assign(data_view_);
        data_in_view_ = false;
      }
      if (has_data_) data_.push_back('\n');
      data_.append(value);
    }
    has_data_ = true;
  } else if (field == "event") {
    name_.assign(value);
  }
  // `id`, `retry` and unknown fields carry nothing a provider needs.
  return {};
}

}  // namespace bc::providers
