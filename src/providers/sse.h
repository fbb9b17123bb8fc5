// An incremental Server-Sent Events parser shared by every provider (reference §0.3). It is
// fed the body bytes as they arrive, in pieces of any size, and returns whole events.
//
// Rules: lines end at LF with one trailing CR dropped; a line starting with ':' is a comment;
// `event:` names the event; `data:` lines (one optional space after the colon) are joined
// with LF; `id:`, `retry:` and unknown fields are ignored; an empty line ends the event. An
// event with no `data:` line is not dispatched (WHATWG rule), so keep-alive blocks vanish.
//
// Memory is bounded: a line or an event longer than `max_event_bytes` is an error, and the
// parser stays failed afterwards.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.h"

namespace bc::providers {

struct SseEvent {
  std::string name;  // empty unless an `event:` line named it
  std::string data;
};

class SseParser {
 public:
  static constexpr std::size_t kDefaultMaxEventBytes = 1 << 20;

  explicit SseParser(std::size_t max_event_bytes = kDefaultMaxEventBytes)
      : max_event_bytes_(max_event_bytes) {}

  // Parses the next bytes; complete events are appended to `out`.
  Status feed(std::string_view bytes, std::vector<SseEvent>& out);
  // The body ended. A last line without LF and an event without its closing empty line are
  // still dispatched, so an upstream that closes right after its final event loses nothing.
  Status finish(std::vector<SseEvent>& out);

 private:
  Status line(std::string_view text, std::vector<SseEvent>& out);
  Status fail(std::string message);

  std::size_t max_event_bytes_;
  std::string partial_;  // the bytes of an unfinished line
  std::string name_;
  std::string data_;
  bool has_data_ = false;
  bool failed_ = false;
  std::string error_;
};

}  // namespace bc::providers
