// One pick as the gateway makes it: candidates(), try_acquire() on the first target, settle()
// with an outcome. 100 models x 100 keys, every key under a limit, time simulated. BM_DailyQuota:
// the same with rpd and tpd on every key, counted without and with the usage ledger's grant
// (balance::KeyLoad::gate_quota, usage/allowance.h), which admission then also checks.
#include <benchmark/benchmark.h>

#include <chrono>
#include <string>
#include <vector>

#include "balance/pool.h"

namespace {

using bc::balance::Demand;
using bc::balance::ModelSpec;
using bc::balance::Outcome;
using bc::balance::Pool;

std::unique_ptr<Pool> make_pool(const std::string& strategy, int models, int keys,
                                bool daily_quota = false) {
  std::vector<ModelSpec> specs;
  for (int m = 0; m < models; ++m) {
    ModelSpec spec;
    spec.name = "model-" + std::to_string(m);
    spec.weight = 1 + m % 5;
    spec.strategy = strategy;
    spec.max_concurrency = 4;
    spec.max_qps = 1000;
    spec.rpm = 100000;
    spec.tpm = 100000000;
    if (daily_quota) {
      spec.rpd = 1'000'000'000;
      spec.tpd = 1'000'000'000'000;
    }
    for (int k = 0; k < keys; ++k) {
      const std::string id = spec.name + "-key-" + std::to_string(k);
      spec.keys.push_back({"sk-" + id, id, 1.0 + k % 3});
    }
    specs.push_back(std::move(spec));
  }
  return std::move(Pool::create(std::move(specs))).value();
}

// range(0): max_candidates (0: the whole failover list); range(1): 1 = a named model.
void pick(benchmark::State& state, const std::string& strategy) {
  static std::unique_ptr<Pool> pool;
  if (state.thread_index() == 0) pool = make_pool(strategy, 100, 100);
  bc::Rng rng(static_cast<std::uint64_t>(state.thread_index()) + 1);
  Demand demand;
  demand.max_candidates = static_cast<std::size_t>(state.range(0));
  demand.estimated_tokens = 500;
  if (state.range(1) == 1) demand.model = 7;
  Outcome outcome;
  outcome.ok = true;
  outcome.latency = std::chrono::milliseconds(120);
  outcome.usage = bc::Usage{300, 100, 400};
  auto now = bc::TimePoint(std::chrono::hours(1));
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
void BM_ResponseTime(benchmark::State& state) {
  pick(state, "response_time");
}
void BM_Tokens(benchmark::State& state) {
  pick(state, "tokens");
}

// range(0): 1 = admission gated by a grant (large enough never to run short).
void BM_DailyQuota(benchmark::State& state) {
  auto pool = make_pool("concurrency", 100, 100, true);
  constexpr std::int64_t kWall = 1'738'281'600'000 + 3'600'000;  // 2025-01-31T01:00:00Z
  constexpr std::int64_t kDay = 1'738'281'600'000;
  auto now = bc::TimePoint(std::chrono::hours(1));
  if (state.range(0) == 1) {
    pool->gate_quotas();
    for (std::uint32_t m = 0; m < 100; ++m) {
      for (std::uint32_t k = 0; k < 100; ++k) {
        pool->grant_quota({m, k}, kWall, now, kDay, 1'000'000'000, 1'000'000'000'000);
      }
    }
  }
  bc::Rng rng(1);
  Demand demand;
  demand.max_candidates = 3;
  demand.estimated_tokens = 500;
  demand.wall_ms = kWall;
  Outcome outcome;
  outcome.ok = true;
  outcome.latency = std::chrono::milliseconds(120);
  outcome.usage = bc::Usage{300, 100, 400};
  std::int64_t misses = 0;
  for (auto _ : state) {
    now += std::chrono::microseconds(10);
    const auto targets = pool->candidates(demand, now, rng);
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

// {max_candidates, named model}
BENCHMARK(BM_Concurrency)->Args({3, 0})->Args({3, 1})->Args({0, 0});
BENCHMARK(BM_Concurrency)->Args({3, 0})->Threads(2);
BENCHMARK(BM_ResponseTime)->Args({3, 0});
BENCHMARK(BM_Tokens)->Args({3, 0});
BENCHMARK(BM_DailyQuota)->ArgName("gated")->Arg(0)->Arg(1);

}  // namespace

BENCHMARK_MAIN();
