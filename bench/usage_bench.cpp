// The usage ledger's two costs per finished request (issue 21): Ledger::submit() on the
// request's thread, and Store::append() on the writer thread, per record, in batches of the
// size one flush interval gathers (1,000 and 10,000 records: one second at those rates). The
// records look like the load benchmark's: 4 clients, 2 models of 8 keys, one in 50 failing.
// Run: build/bench/bench_usage --benchmark_min_time=1
#include <benchmark/benchmark.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "usage/ledger.h"
#include "usage/store.h"

namespace {

using bc::usage::UsageRecord;

UsageRecord record_at(std::int64_t at_ms, std::size_t i) {
  UsageRecord r;
  r.at_ms = at_ms;
  r.client = "client-" + std::to_string(i % 4);
  r.route = "/v1/chat/completions";
  r.model = i % 2 == 0 ? "glm-4-flash" : "deepseek-chat";
  r.key_id = "key-" + std::to_string(i % 8);
  r.provider = i % 2 == 0 ? "zhipu" : "openai";
  r.prompt_tokens = 20 + static_cast<std::int64_t>(i % 50);
  r.completion_tokens = 100;
  r.total_tokens = r.prompt_tokens + r.completion_tokens;
  r.status = i % 50 == 0 ? 502 : 200;
  if (r.status >= 400) r.error_class = "upstream_error";
  r.latency_ms = 12.5;
  r.streamed = i % 3 == 0;
  if (r.streamed) r.ttft_ms = 3.25;
  r.attempts = 1;
  return r;
}

std::string temp_path(const char* name) {
  const auto dir =
      std::filesystem::temp_directory_path() / ("bc-usage-bench-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  return (dir / name).string();
}

// Store::append() per record; the table grows over the run as the gateway's would.
void BM_StoreAppend(benchmark::State& state) {
  const auto batch_size = static_cast<std::size_t>(state.range(0));
  const std::string path = temp_path("append.db");
  std::filesystem::remove(path);
  auto store = std::move(bc::usage::Store::open(path)).value();
  std::int64_t at_ms = 1'780'000'000'000;
  std::vector<UsageRecord> batch;
  for (auto _ : state) {
    state.PauseTiming();
    batch.clear();
    for (std::size_t i = 0; i < batch_size; ++i) batch.push_back(record_at(at_ms + i / 10, i));
    at_ms += static_cast<std::int64_t>(batch_size / 10);
    state.ResumeTiming();
    if (!store->append(batch)) state.SkipWithError("append failed");
  }
  state.SetItemsProcessed(state.iterations() * static_cast<std::int64_t>(batch_size));
  store.reset();
  std::filesystem::remove_all(std::filesystem::path(path).parent_path());
}
BENCHMARK(BM_StoreAppend)->Arg(1000)->Arg(10000)->Unit(benchmark::kMillisecond);

// Building a record and handing it to the ledger, as a request's end does (the writer thread
// runs meanwhile, on another core when there is one).
void BM_LedgerSubmit(benchmark::State& state) {
  bc::usage::LedgerOptions options;
  options.path = temp_path("submit.db");
  options.queue_size = 1 << 20;  // above the iterations: every record is queued, none dropped
  auto ledger = std::move(bc::usage::Ledger::open(options)).value();
  std::size_t i = 0;
  for (auto _ : state) ledger->submit(record_at(1'780'000'000'000, i++));
  state.SetItemsProcessed(state.iterations());
  ledger.reset();
  std::filesystem::remove_all(std::filesystem::path(options.path).parent_path());
}
BENCHMARK(BM_LedgerSubmit)->Iterations(500000);

}  // namespace

BENCHMARK_MAIN();
