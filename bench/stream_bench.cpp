// The streamed path's pure work per upstream read: SseParser splitting events (copies with
// feed(), views with next()), and the OpenAI stream decoder (SSE + scan of each chunk + delta
// extraction), on the same 20-event stream the load benchmark's nginx serves. One iteration decodes
// either one chunk event (the per-event cost when the upstream sends one event per read, as a real
// model does) or the whole stream in one read (what nginx's burst looks like: there every chunk
// after the first content chunk is read by its content string alone, ChunkSequenceScanner).
#include <benchmark/benchmark.h>

#include <string>
#include <vector>

#include "bench/payload.h"
#include "providers/openai.h"
#include "providers/sse.h"

namespace {

// The second event of the stream: a typical content chunk ("data: {...}\n\n").
std::string one_event(const std::string& stream) {
  const auto first_end = stream.find("\n\n") + 2;
  const auto second_end = stream.find("\n\n", first_end) + 2;
  return stream.substr(first_end, second_end - first_end);
}

void BM_SseParseEvent(benchmark::State& state) {
  const std::string event = one_event(bc::bench::payload("stream.sse"));
  bc::providers::SseParser parser;
  std::vector<bc::providers::SseEvent> out;
  for (auto _ : state) {
    out.clear();
    auto st = parser.feed(event, out);
    benchmark::DoNotOptimize(st);
  }
  state.SetBytesProcessed(state.iterations() * static_cast<std::int64_t>(event.size()));
}
BENCHMARK(BM_SseParseEvent);

// The same event read with next(), as the OpenAI decoder reads it: a view, no copy.
void BM_SseNextEvent(benchmark::State& state) {
  const std::string event = one_event(bc::bench::payload("stream.sse"));
  bc::providers::SseParser parser;
  for (auto _ : state) {
    std::string_view bytes = event;
    auto ev = parser.next(bytes);
    benchmark::DoNotOptimize(ev);
  }
  state.SetBytesProcessed(state.iterations() * static_cast<std::int64_t>(event.size()));
}
BENCHMARK(BM_SseNextEvent);

void BM_OpenAiDecodeEvent(benchmark::State& state) {
  const std::string event = one_event(bc::bench::payload("stream.sse"));
  bc::providers::OpenAiStreamDecoder decoder(bc::providers::openai_dialect());
  std::vector<bc::ChatDelta> out;
  for (auto _ : state) {
    out.clear();
    auto st = decoder.feed(event, out);
    benchmark::DoNotOptimize(st);
  }
  state.SetBytesProcessed(state.iterations() * static_cast<std::int64_t>(event.size()));
}
BENCHMARK(BM_OpenAiDecodeEvent);

// A fresh decoder per iteration, as per upstream attempt: 20 chunks and [DONE].
void BM_OpenAiDecodeWholeStream(benchmark::State& state) {
  const std::string stream = bc::bench::payload("stream.sse");
  std::vector<bc::ChatDelta> out;
  for (auto _ : state) {
    bc::providers::OpenAiStreamDecoder decoder(bc::providers::openai_dialect());
    out.clear();
    auto st = decoder.feed(stream, out);
    benchmark::DoNotOptimize(st);
  }
  state.SetBytesProcessed(state.iterations() * static_cast<std::int64_t>(stream.size()));
}
BENCHMARK(BM_OpenAiDecodeWholeStream);

// The stream with every non-empty content string extended by `suffix` (JSON text): the same
// chunks as a model writing non-ASCII text sends them, raw UTF-8 or `\u` escapes.
std::string with_content(std::string stream, std::string_view suffix) {
  constexpr std::string_view kContent = "\"content\":\"";
  for (std::size_t at = stream.find(kContent); at != std::string::npos;
       at = stream.find(kContent, at)) {
    at += kContent.size();
    const std::size_t close = stream.find('"', at);
    if (close > at) stream.insert(close, suffix);
    at = close + suffix.size();
  }
  return stream;
}

// The whole stream as the forwarder decodes it: chunks lent, runs of content merged. Arg 0:
// the load benchmark's stream (ASCII content); 1: each content ends in raw UTF-8 ("é"), which
// a repeat reads as a whole string; 2: each ends in a `\u00e9` escape, which the hand-written
// scan leaves to the next path.
void BM_OpenAiRelayWholeStream(benchmark::State& state) {
  const std::string plain = bc::bench::payload("stream.sse");
  const std::string stream = state.range(0) == 0   ? plain
                             : state.range(0) == 1 ? with_content(plain, "\xc3\xa9")
                                                   : with_content(plain, "\\u00e9");
  std::vector<bc::providers::RelayDelta> out;
  for (auto _ : state) {
    bc::providers::OpenAiStreamDecoder decoder(bc::providers::openai_dialect());
    out.clear();
    auto st = decoder.feed_relay(stream, out);
    benchmark::DoNotOptimize(st);
  }
  state.SetBytesProcessed(state.iterations() * static_cast<std::int64_t>(stream.size()));
}
BENCHMARK(BM_OpenAiRelayWholeStream)->Arg(0)->Arg(1)->Arg(2);

// The same streams read one event per feed, as from a model that sends each event when it has
// it: every chunk is scanned on its own (a repeat needs the chunk before in the same read).
void BM_OpenAiRelayEventByEvent(benchmark::State& state) {
  const std::string plain = bc::bench::payload("stream.sse");
  const std::string stream = state.range(0) == 0   ? plain
                             : state.range(0) == 1 ? with_content(plain, "\xc3\xa9")
                                                   : with_content(plain, "\\u00e9");
  std::vector<std::string_view> events;
  for (std::size_t at = 0; at < stream.size();) {
    const std::size_t end = stream.find("\n\n", at) + 2;
    events.emplace_back(stream.data() + at, end - at);
    at = end;
  }
  std::vector<bc::providers::RelayDelta> out;
  for (auto _ : state) {
    bc::providers::OpenAiStreamDecoder decoder(bc::providers::openai_dialect());
    for (const auto event : events) {
      out.clear();
      auto st = decoder.feed_relay(event, out);
      benchmark::DoNotOptimize(st);
    }
  }
  state.SetBytesProcessed(state.iterations() * static_cast<std::int64_t>(stream.size()));
}
BENCHMARK(BM_OpenAiRelayEventByEvent)->Arg(0)->Arg(1)->Arg(2);

}  // namespace

BENCHMARK_MAIN();
