// providers/sse.h fed an arbitrary body. The first input byte picks how the rest is cut into
// feed() calls and, with its top bit, a small event limit (256 bytes) so that the limit paths
// are reached too; the same bytes fed whole must give the same events and the same error, and so
// must next() (one event at a time, as views) over the same pieces, each piece copied into a
// buffer that is overwritten once the parser has moved past it. An event handed out whole
// (SseEventView::raw) must be `data: <its data>` LF LF, inside the buffer.
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "fuzz_support.h"
#include "providers/sse.h"

namespace {

using bc::providers::SseEvent;
using bc::providers::SseParser;

struct Parsed {
  std::vector<SseEvent> events;
  std::optional<std::string> error;
};

Parsed parse(std::size_t limit, const std::vector<std::string_view>& pieces) {
  Parsed p;
  SseParser parser(limit);
  for (auto piece : pieces) {
    if (bc::Status st = parser.feed(piece, p.events); !st) {
      p.error = st.error().message;
      return p;
    }
  }
  if (bc::Status st = parser.finish(p.events); !st) p.error = st.error().message;
  return p;
}

// The same pieces read with next(), each piece in a buffer overwritten after use, as a
// connection's read buffer is: a view that outlived its bytes would show the overwrite.
Parsed parse_next(std::size_t limit, const std::vector<std::string_view>& pieces) {
  Parsed p;
  SseParser parser(limit);
  std::string buffer;
  for (auto piece : pieces) {
    buffer.assign(piece);
    std::string_view bytes = buffer;
    for (;;) {
      auto ev = parser.next(bytes);
      if (!ev) {
        p.error = ev.error().message;
        return p;
      }
      if (!*ev) break;
      // A whole event handed out is exactly what a relay would write for it, in the buffer.
      if (const auto raw = (*ev)->raw; !raw.empty()) {
        if (!(*ev)->name.empty() || raw != "data: " + std::string((*ev)->data) + "\n\n" ||
            raw.data() < buffer.data() || raw.data() + raw.size() > buffer.data() + buffer.size()) {
          bc::fuzz::fail("an event handed out whole is not `data: <its data>` LF LF in the buffer");
        }
      }
      p.events.push_back(SseEvent{std::string((*ev)->name), std::string((*ev)->data)});
    }
    buffer.assign(buffer.size(), '#');
  }
  if (bc::Status st = parser.finish(p.events); !st) p.error = st.error().message;
  return p;
}

bool same_events(const Parsed& a, const Parsed& b) {
  if (a.error != b.error || a.events.size() != b.events.size()) return false;
  for (std::size_t i = 0; i < a.events.size(); ++i) {
    if (a.events[i].name != b.events[i].name || a.events[i].data != b.events[i].data) {
      return false;
    }
  }
  return true;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  bc::fuzz::Input in(data, size);
  const std::uint8_t seed = in.byte();
  const std::size_t limit = (seed & 0x80) != 0 ? 256 : SseParser::kDefaultMaxEventBytes;
  const std::string_view body = in.rest();

  const Parsed cut = parse(limit, bc::fuzz::split(body, seed & 0x7f));
  for (const auto& ev : cut.events) {
    if (ev.data.size() > limit || ev.name.size() > limit) bc::fuzz::fail("event over the limit");
  }
  if (!same_events(cut, parse_next(limit, bc::fuzz::split(body, seed & 0x7f)))) {
    bc::fuzz::fail("next() read other events than feed()");
  }
  if ((seed & 0x7f) == 0) return 0;
  const Parsed whole = parse(limit, {body});
  if (whole.error != cut.error) bc::fuzz::fail("split changed the error");
  if (whole.events.size() != cut.events.size()) bc::fuzz::fail("split changed the event count");
  for (std::size_t i = 0; i < whole.events.size(); ++i) {
    if (whole.events[i].name != cut.events[i].name || whole.events[i].data != cut.events[i].data) {
      bc::fuzz::fail("split changed event " + std::to_string(i));
    }
  }
  return 0;
}
