// One provider's StreamDecoder fed an arbitrary upstream body. The first input byte picks how
// the rest is cut into feed() calls; the same bytes fed whole must decode to the same chunks,
// error and done() (the decoders' contract: "whatever the byte boundaries"), and so must the
// same pieces decoded for the relay (feed_relay: lent chunks and merged runs), each run taken
// apart again.
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "fuzz_support.h"

namespace {

using bc::ChatDelta;
using bc::Error;
using bc::Status;
using bc::providers::RelayDelta;

struct Decoded {
  std::vector<ChatDelta> deltas;
  // Of a lent decoding, per delta: how many chunks the merged run it starts holds (1 for a
  // delta of its own), 0 for the later chunks of a run. Empty: every delta its own.
  std::vector<std::uint32_t> runs;
  std::optional<Error> error;
  bool done = false;
};

Decoded decode(const bc::providers::Provider& provider,
               const std::vector<std::string_view>& pieces) {
  Decoded d;
  auto decoder = provider.stream_decoder();
  for (auto piece : pieces) {
    if (Status st = decoder->feed(piece, d.deltas); !st) {
      d.error = st.error();
      d.done = decoder->done();
      return d;
    }
  }
  if (Status st = decoder->finish(d.deltas); !st) d.error = st.error();
  d.done = decoder->done();
  return d;
}

// A merged run (RelayDelta::chunks > 1) taken apart: one delta per event of its lent bytes,
// each `data: <chunk>` LF LF, the first carrying the run's text (compared joined, below), no
// finish reason or usage on any.
void take_apart(const RelayDelta& run, Decoded& out) {
  if (run.text.empty() || !run.finish_reason.empty() || run.usage) {
    bc::fuzz::fail("a merged run without text, or with a finish reason or usage");
  }
  std::string_view events = run.lent_event;
  for (std::uint32_t i = 0; i < run.chunks; ++i) {
    const auto end = events.find("\n\n");
    if (!events.starts_with("data: ") || end == std::string_view::npos) {
      bc::fuzz::fail("a merged run is not `data: <chunk>` LF LF events back to back");
    }
    ChatDelta& d = out.deltas.emplace_back();
    d.chunk_json.assign(events.substr(6, end - 6));
    out.runs.push_back(i == 0 ? run.chunks : 0);
    if (i == 0) {
      d.text = run.text;
      if (d.chunk_json != run.chunk()) bc::fuzz::fail("a merged run's chunk is not its first");
    }
    events.remove_prefix(end + 2);
  }
  if (!events.empty()) bc::fuzz::fail("a merged run holds more events than it counts");
}

// The same pieces as the relay decodes them (lending chunks, merging runs), each piece in a buffer
// overwritten after use as a connection's read buffer is. Every lent chunk is kept (copied)
// right after the feed, as the forwarder passes it on before the next read; a whole lent event
// must be exactly the `data: <chunk>` LF LF a relay would write, inside the buffer.
Decoded decode_lent(const bc::providers::Provider& provider,
                    const std::vector<std::string_view>& pieces) {
  Decoded d;
  auto decoder = provider.stream_decoder();
  std::string buffer;
  std::vector<RelayDelta> fresh;
  auto keep_new = [&] {
    for (RelayDelta& delta : fresh) {
      const auto event = delta.lent_event;
      if (!event.empty() && (event.data() < buffer.data() ||
                             event.data() + event.size() > buffer.data() + buffer.size())) {
        bc::fuzz::fail("a lent event lies outside the fed bytes");
      }
      if (delta.chunks > 1) {
        take_apart(delta, d);
        continue;
      }
      if (!event.empty() &&
          (delta.lent_chunk.empty() || event != "data: " + std::string(delta.chunk()) + "\n\n")) {
        bc::fuzz::fail("a lent event is not `data: <chunk>` LF LF in the fed bytes");
      }
      delta.keep();
      d.deltas.push_back(std::move(static_cast<ChatDelta&>(delta)));
      d.runs.push_back(1);
    }
    fresh.clear();
  };
  for (auto piece : pieces) {
    buffer.assign(piece);
    const Status st = decoder->feed_relay(buffer, fresh);
    keep_new();
    buffer.assign(buffer.size(), '#');
    if (!st) {
      d.error = st.error();
      d.done = decoder->done();
      return d;
    }
  }
  if (Status st = decoder->finish_relay(fresh); !st) d.error = st.error();
  keep_new();
  d.done = decoder->done();
  return d;
}

bool same_usage(const std::optional<bc::Usage>& a, const std::optional<bc::Usage>& b) {
  if (a.has_value() != b.has_value()) return false;
  return !a || (a->prompt_tokens == b->prompt_tokens &&
                a->completion_tokens == b->completion_tokens && a->total_tokens == b->total_tokens);
}

// `cut` may hold runs taken apart (Decoded::runs): their texts are compared joined.
void expect_same(const Decoded& whole, const Decoded& cut) {
  if (whole.deltas.size() != cut.deltas.size()) bc::fuzz::fail("split changed the chunk count");
  for (std::size_t i = 0; i < whole.deltas.size();) {
    const std::size_t n = cut.runs.empty() ? 1 : cut.runs[i];
    if (n == 0 || i + n > whole.deltas.size()) bc::fuzz::fail("a merged run out of place");
    std::string text;
    for (std::size_t k = i; k < i + n; ++k) {
      const ChatDelta& a = whole.deltas[k];
      const ChatDelta& b = cut.deltas[k];
      text += a.text;
      const bool same = n > 1 ? a.chunk_json == b.chunk_json && a.finish_reason.empty() && !a.usage
                              : a.chunk_json == b.chunk_json && a.text == b.text &&
                                    a.finish_reason == b.finish_reason &&
                                    same_usage(a.usage, b.usage);
      if (!same) {
        bc::fuzz::fail("split changed chunk " + std::to_string(k) + ": " + a.chunk_json + " vs " +
                       b.chunk_json);
      }
    }
    if (n > 1 && text != cut.deltas[i].text) {
      bc::fuzz::fail("a merged run's text is not its chunks' texts joined");
    }
    i += n;
  }
  if (whole.error.has_value() != cut.error.has_value()) {
    bc::fuzz::fail("split changed whether the stream failed");
  }
  if (whole.error &&
      (whole.error->message != cut.error->message || whole.error->kind != cut.error->kind)) {
    bc::fuzz::fail("split changed the error: " + whole.error->message + " vs " +
                   cut.error->message);
  }
  if (whole.done != cut.done) bc::fuzz::fail("split changed done()");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static const auto provider = bc::fuzz::make(bc::fuzz::variant());
  bc::fuzz::Input in(data, size);
  const std::uint8_t seed = in.byte();
  const std::string_view body = in.rest();

  const Decoded cut = decode(*provider, bc::fuzz::split(body, seed));
  for (const auto& delta : cut.deltas) bc::fuzz::check_delta(delta);
  if (cut.error) bc::fuzz::check_error(*cut.error);
  if (seed != 0) expect_same(decode(*provider, {body}), cut);
  expect_same(cut, decode_lent(*provider, bc::fuzz::split(body, seed)));
  return 0;
}
