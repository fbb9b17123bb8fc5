// The request path's pure work per call: parse the client's ~300-byte chat body
// (ChatRequest::parse) and rewrite it for an OpenAI-compatible upstream
// (OpenAiProvider::encode: copy the JSON object, set model/stream, serialize, add headers).
#include <benchmark/benchmark.h>

#include "bench/payload.h"
#include "core/chat.h"
#include "core/json_text.h"
#include "providers/openai.h"

namespace {

bc::providers::OpenAiProvider make_provider() {
  bc::providers::ProviderOptions options;
  options.model_name = "bench-json";
  options.upstream_model = "gpt-4o-mini";
  options.base_url = "http://127.0.0.1:8080/v1";
  return bc::providers::OpenAiProvider(options);
}

const bc::providers::Credential kCredential{"sk-bench-key-0001", "k1"};

void BM_RequestParse(benchmark::State& state) {
  const std::string body = bc::bench::payload("request.json");
  for (auto _ : state) {
    auto req = bc::ChatRequest::parse(body);
    benchmark::DoNotOptimize(req);
  }
  state.SetBytesProcessed(state.iterations() * static_cast<std::int64_t>(body.size()));
}
BENCHMARK(BM_RequestParse);

void BM_RequestEncode(benchmark::State& state) {
  const auto provider = make_provider();
  const auto req = bc::ChatRequest::parse(bc::bench::payload("request.json")).value();
  for (auto _ : state) {
    auto up = provider.encode(req, kCredential);
    benchmark::DoNotOptimize(up);
  }
}
BENCHMARK(BM_RequestEncode);

// json_text of the caller's body as a tree: what encoding cost before requests were relayed
// from their scanned text (and still costs for a request the scan leaves to the tree).
void BM_RequestBodyText(benchmark::State& state) {
  const auto req = bc::ChatRequest::parse(bc::bench::payload("request.json")).value();
  for (auto _ : state) {
    auto text = bc::json_text(req.body());
    benchmark::DoNotOptimize(text);
  }
}
BENCHMARK(BM_RequestBodyText);

// What the gateway does once per client request before the first upstream byte.
void BM_RequestParseAndEncode(benchmark::State& state) {
  const auto provider = make_provider();
  const std::string body =
      bc::bench::payload(state.range(0) ? "request_stream.json" : "request.json");
  for (auto _ : state) {
    auto req = bc::ChatRequest::parse(body);
    auto up = provider.encode(*req, kCredential);
    benchmark::DoNotOptimize(up);
  }
}
BENCHMARK(BM_RequestParseAndEncode)->ArgName("stream")->Arg(0)->Arg(1);

}  // namespace

BENCHMARK_MAIN();
