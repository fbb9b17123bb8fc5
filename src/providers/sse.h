// An incremental Server-Sent Events parser shared by every provider. It is
// fed the body bytes as they arrive, in pieces of any size, and returns whole events.
//
// Rules: lines end at LF with one trailing CR dropped; a line starting with ':' is a comment;
// `event:` names the event; `data:` lines (one optional space after the colon) are joined
// with LF; `id:`, `retry:` and unknown fields are ignored; an empty line ends the event. An
// event with no `data:` line is not dispatched (WHATWG rule), so keep-alive blocks vanish.
//
// Memory is bounded: a line or an event longer than `max_event_bytes` is an error, and the
// parser stays failed afterwards.
//
// Two ways to read events: feed() appends owned copies to a vector; next() hands out one event
// at a time as views, of the caller's bytes when the event is one `data:` line inside them (the
// usual chunk), so the OpenAI relay copies an event once, not three times.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.h"

namespace bc::providers {

struct SseEvent {
  std::string name;  // empty unless an `event:` line named it
  std::string data;
};

struct SseEventView {
  std::string_view name;
  std::string_view data;
  // The data came from one `data:` line, so it holds no line feed (a carriage return it may:
  // only CRLF and LF end a line here). Lets a relay skip one scan of every chunk.
  bool one_line = false;
  // The whole event in the caller's bytes when the upstream framed it exactly as a relay
  // would, `data: <data>\n\n` (one line, no name, one space, LF endings); else empty. A relay
  // copies it in one piece.
  std::string_view raw{};
};

class SseParser {
 public:
  static constexpr std::size_t kDefaultMaxEventBytes = 1 << 20;

  explicit SseParser(std::size_t max_event_bytes = kDefaultMaxEventBytes)
      : max_event_bytes_(max_event_bytes) {}

  // Parses the next bytes; complete events are appended to `out`.
  Status feed(std::string_view bytes, std::vector<SseEvent>& out);
  // Parses `bytes` up to the end of the next complete event and returns that event, with
  // `bytes` advanced past what was read; nullopt when `bytes` ran out first (an unfinished
  // line or event is kept for the next call). The views stay valid until the next call to
  // next(), feed() or finish(), and so must the storage of `bytes`.
  Result<std::optional<SseEventView>> next(std::string_view& bytes);
  // The body ended. A last line without LF and an event without its closing empty line are
  // still dispatched, so an upstream that closes right after its final event loses nothing.
  Status finish(std::vector<SseEvent>& out);
  // True between events: no line and no event begun. A caller that recognizes a whole
  // event at the front of its bytes may then take it itself and call skip_event(), which
  // leaves the parser as next() would after handing that event out.
  bool between_events() const {
    return !failed_ && partial_.empty() && (dispatched_ || (!has_data_ && name_.empty()));
  }
  void skip_event() { clear_dispatched(); }
  std::size_t max_event_bytes() const { return max_event_bytes_; }

 private:
  // One line; `in_input` when `text` lies in the caller's bytes (not in partial_). Sets
  // `ended` when the line ended an event that has data.
  Status line(std::string_view text, bool in_input, bool& ended);
  // The usual event, one `data:` line (ending at `lf`) and an empty line, read without
  // line(); nullopt when `bytes` does not start with one. Advances `bytes` past it.
  std::optional<SseEventView> one_line_event(std::string_view& bytes, std::size_t lf);
  // The event that line() ended.
  SseEventView event() const;
  // Clears the event handed out last, whose views the caller no longer holds.
  void clear_dispatched();
  Status fail(std::string message);

  std::size_t max_event_bytes_;
  std::string partial_;  // the bytes of an unfinished line
  std::string name_;
  std::string data_;  // the event's data, unless it is still data_view_
  // The event's only data line so far, in the caller's bytes (copied into data_ when a second
  // line follows or the bytes run out).
  std::string_view data_view_;
  bool data_in_view_ = false;
  bool has_data_ = false;
  bool dispatched_ = false;
  bool failed_ = false;
  std::string error_;
};

}  // namespace bc::providers
