// One provider's StreamDecoder fed an arbitrary upstream body. The first input byte picks how
// the rest is cut into feed() calls; the same bytes fed whole must decode to the same chunks,
// error and done() (the decoders' contract: "whatever the byte boundaries"), and so must the
// same pieces decoded with lent chunks.
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

struct Decoded {
  std::vector<ChatDelta> deltas;
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

// The same pieces with the decoder lending its chunks, each piece in a buffer overwritten after
// use as a connection's read buffer is. Every lent chunk is kept (copied) right after the feed,
// as the forwarder passes it on before the next read; a whole lent event must be exactly the
// `data: <chunk>` LF LF a relay would write, inside the buffer.
Decoded decode_lent(const bc::providers::Provider& provider,
                    const std::vector<std::string_view>& pieces) {
  Decoded d;
  auto decoder = provider.stream_decoder();
  decoder->lend_chunks(true);
  std::string buffer;
  auto keep_new = [&](std::size_t from) {
    for (std::size_t i = from; i < d.deltas.size(); ++i) {
      ChatDelta& delta = d.deltas[i];
      const auto event = delta.lent_event;
      if (!event.empty() &&
          (delta.lent_chunk.empty() || event != "data: " + std::string(delta.chunk()) + "\n\n" ||
           event.data() < buffer.data() ||
           event.data() + event.size() > buffer.data() + buffer.size())) {
        bc::fuzz::fail("a lent event is not `data: <chunk>` LF LF in the fed bytes");
      }
      delta.keep();
    }
  };
  for (auto piece : pieces) {
    buffer.assign(piece);
    const std::size_t before = d.deltas.size();
    const Status st = decoder->feed(buffer, d.deltas);
    keep_new(before);
    buffer.assign(buffer.size(), '#');
    if (!st) {
      d.error = st.error();
      d.done = decoder->done();
      return d;
    }
  }
  const std::size_t before = d.deltas.size();
  if (Status st = decoder->finish(d.deltas); !st) d.error = st.error();
  keep_new(before);
  d.done = decoder->done();
  return d;
}

bool same_usage(const std::optional<bc::Usage>& a, const std::optional<bc::Usage>& b) {
  if (a.has_value() != b.has_value()) return false;
  return !a || (a->prompt_tokens == b->prompt_tokens &&
                a->completion_tokens == b->completion_tokens && a->total_tokens == b->total_tokens);
}

void expect_same(const Decoded& whole, const Decoded& cut) {
  if (whole.deltas.size() != cut.deltas.size()) bc::fuzz::fail("split changed the chunk count");
  for (std::size_t i = 0; i < whole.deltas.size(); ++i) {
    const ChatDelta& a = whole.deltas[i];
    const ChatDelta& b = cut.deltas[i];
    if (a.chunk_json != b.chunk_json || a.text != b.text || a.finish_reason != b.finish_reason ||
        !same_usage(a.usage, b.usage)) {
      bc::fuzz::fail("split changed chunk " + std::to_string(i) + ": " + a.chunk_json + " vs " +
                     b.chunk_json);
    }
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
