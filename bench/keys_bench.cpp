// One pick as the gateway makes it (candidates() for three targets, try_acquire() on the
// first, settle()) on one model of 4 to 10,000 keys: the cost of a pick must not grow with
// the number of keys (issue 24). Every key has max_concurrency 4; `busy` leases are held on
// keys spread over the model, as requests in flight would be.
#include <benchmark/benchmark.h>

#include <algorithm>
#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "balance/pool.h"

namespace {

using bc::balance::Demand;
using bc::balance::Lease;
using bc::balance::ModelSpec;
using bc::balance::Outcome;
using bc::balance::Pool;

std::unique_ptr<Pool> make_pool(const std::string& strategy, int keys, bool auto_weight) {
  ModelSpec spec;
  spec.name = "m";
  spec.strategy = strategy;
  spec.max_concurrency = 4;
  spec.auto_weight = auto_weight;
  if (strategy == "tokens") {
    spec.rpm = 1000000;
    spec.tpm = 1000000000;
  }
  for (int k = 0; k < keys; ++k) {
    const std::string id = "key-" + std::to_string(k);
    spec.keys.push_back({"sk-" + id, id, 1.0 + k % 3});
  }
  std::vector<ModelSpec> specs;
  specs.push_back(std::move(spec));
  return std::move(Pool::create(std::move(specs))).value();
}

// range(0): keys of the model.
void pick(benchmark::State& state, const std::string& strategy, bool auto_weight = false) {
  const int keys = static_cast<int>(state.range(0));
  auto pool = make_pool(strategy, keys, auto_weight);
  bc::Rng rng(1);
  Demand demand;
  demand.max_candidates = 3;
  demand.estimated_tokens = 500;
  Outcome outcome;
  outcome.ok = true;
  outcome.latency = std::chrono::milliseconds(120);
  outcome.usage = bc::Usage{300, 100, 400};
  auto now = bc::TimePoint(std::chrono::hours(1));
  // Requests in flight, as under load: 16, or half the slots of a small model.
  std::vector<Lease> busy;
  for (int i = 0; i < std::min(16, 2 * keys); ++i) {
    const auto targets = pool->candidates(demand, now, rng);
    if (auto lease = pool->try_acquire(targets.front(), demand, now)) {
      busy.push_back(std::move(*lease));
    }
  }
  std::int64_t misses = 0;
  for (auto _ : state) {
    now += std::chrono::microseconds(10);
    const auto targets = pool->candidates(demand, now, rng);
    benchmark::DoNotOptimize(targets.data());
    if (targets.empty()) {
      ++misses;
      continue;
    }
    auto lease = pool->try_acquire(targets.front(), demand, now);
    if (!lease) {
      ++misses;
      continue;
    }
    lease->settle(outcome, now);
  }
  state.counters["misses"] = static_cast<double>(misses);
}

void BM_Concurrency(benchmark::State& state) {
  pick(state, "concurrency");
}
void BM_LeastRequest(benchmark::State& state) {
  pick(state, "least_request");
}
void BM_ResponseTime(benchmark::State& state) {
  pick(state, "response_time");
}
void BM_Tokens(benchmark::State& state) {
  pick(state, "tokens");
}
void BM_AutoWeight(benchmark::State& state) {
  pick(state, "concurrency", true);
}

// A retry's pick after two failed attempts: the candidates leaving out the two keys tried
// (Demand::tried), three of them as a first pick asks; range(1) == 1 asks for every candidate
// instead, as retries did before.
void BM_RetryPick(benchmark::State& state) {
  auto pool = make_pool("concurrency", static_cast<int>(state.range(0)), false);
  bc::Rng rng(1);
  const std::vector<bc::balance::Target> tried = {{0, 0}, {0, 1}};
  Demand demand;
  demand.max_candidates = state.range(1) == 1 ? 0 : 3;
  demand.tried = tried;
  auto now = bc::TimePoint(std::chrono::hours(1));
  for (auto _ : state) {
    now += std::chrono::microseconds(10);
    const auto targets = pool->candidates(demand, now, rng);
    benchmark::DoNotOptimize(targets.data());
  }
}

// When a waiting request may try again (Pool::next_available, asked on every wake of a
// waiter) with every slot of the model taken and a tenth of the keys cooling for a minute.
// range(1) == 1 gives every key a tpm limit, which makes the pool ask every key (a token limit
// may refuse a large request the index would let through): the scan the index replaces.
void BM_NextAvailable(benchmark::State& state) {
  const int keys = static_cast<int>(state.range(0));
  ModelSpec spec;
  spec.name = "m";
  spec.max_concurrency = 1;
  if (state.range(1) == 1) spec.tpm = 1000000000;
  for (int k = 0; k < keys; ++k) {
    const std::string id = "key-" + std::to_string(k);
    spec.keys.push_back({"sk-" + id, id, 1.0});
  }
  std::vector<ModelSpec> specs;
  specs.push_back(std::move(spec));
  auto pool = std::move(Pool::create(std::move(specs))).value();
  const auto start = bc::TimePoint(std::chrono::hours(1));
  std::vector<Lease> busy;
  for (int k = 0; k < keys; ++k) {
    const bc::balance::Target target{0, static_cast<std::uint32_t>(k)};
    if (auto lease = pool->try_acquire(target, {}, start)) busy.push_back(std::move(*lease));
  }
  Outcome outcome;
  outcome.ok = true;
  for (int k = 0; k < keys; k += 10) {
    const bc::balance::Target target{0, static_cast<std::uint32_t>(k)};
    pool->cool_down(target, start + std::chrono::minutes(1));
    busy[k].settle(outcome, start);
  }
  Demand demand;
  demand.estimated_tokens = 500;
  auto now = start;
  for (auto _ : state) {
    now += std::chrono::microseconds(1);
    benchmark::DoNotOptimize(pool->next_available(demand, now));
  }
}

#define BC_KEYS Arg(4)->Arg(100)->Arg(1000)->Arg(10000)
BENCHMARK(BM_Concurrency)->BC_KEYS;
BENCHMARK(BM_LeastRequest)->BC_KEYS;
BENCHMARK(BM_ResponseTime)->BC_KEYS;
BENCHMARK(BM_Tokens)->BC_KEYS;
BENCHMARK(BM_AutoWeight)->BC_KEYS;
BENCHMARK(BM_RetryPick)->ArgsProduct({{4, 100, 1000, 10000}, {0, 1}});
BENCHMARK(BM_NextAvailable)->ArgsProduct({{4, 100, 1000, 10000}, {0, 1}});

}  // namespace

BENCHMARK_MAIN();
