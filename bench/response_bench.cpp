// The non-streamed answer's pure work: OpenAiProvider::decode of the ~630-byte
// chat.completion (JSON parse, shape check, usage extraction), and the re-serialization the
// /v1 API does before sending it (json_text), which together make the response-side cost.
#include <benchmark/benchmark.h>

#include "bench/payload.h"
#include "core/json_text.h"
#include "providers/openai.h"

namespace {

bc::UpstreamResponse completion() {
  bc::UpstreamResponse r;
  r.status = 200;
  r.headers = {{"Content-Type", "application/json"}};
  r.body = bc::bench::payload("completion.json");
  return r;
}

bc::providers::OpenAiProvider make_provider() {
  bc::providers::ProviderOptions options;
  options.model_name = "bench-json";
  options.upstream_model = "gpt-4o-mini";
  return bc::providers::OpenAiProvider(options);
}

void BM_ResponseDecodeUsage(benchmark::State& state) {
  const auto provider = make_provider();
  const auto response = completion();
  for (auto _ : state) {
    auto decoded = provider.decode(response);
    benchmark::DoNotOptimize(decoded);
  }
  state.SetBytesProcessed(state.iterations() * static_cast<std::int64_t>(response.body.size()));
}
BENCHMARK(BM_ResponseDecodeUsage);

void BM_ResponseReserialize(benchmark::State& state) {
  const auto decoded = make_provider().decode(completion()).value();
  for (auto _ : state) {
    auto text = bc::json_text(decoded.completion);
    benchmark::DoNotOptimize(text);
  }
}
BENCHMARK(BM_ResponseReserialize);

// decode + json_text: the whole response-side cost of one /v1 non-streamed call today.
void BM_ResponseDecodeAndReserialize(benchmark::State& state) {
  const auto provider = make_provider();
  const auto response = completion();
  for (auto _ : state) {
    auto decoded = provider.decode(response);
    auto text = bc::json_text(decoded->completion);
    benchmark::DoNotOptimize(text);
  }
}
BENCHMARK(BM_ResponseDecodeAndReserialize);

}  // namespace

BENCHMARK_MAIN();
