// Helpers shared by the balance tests: model specs in one line and a simulated clock.
#pragma once

#include <chrono>
#include <initializer_list>
#include <memory>
#include <string>

#include <gtest/gtest.h>

#include "balance/pool.h"
#include "core/clock.h"

namespace bc::balance::testing {

inline TimePoint at(double seconds) {
  return TimePoint(std::chrono::round<Duration>(std::chrono::duration<double>(seconds)));
}

inline ModelSpec model_spec(std::string name, std::initializer_list<double> key_weights,
                            std::string strategy = "concurrency", int max_concurrency = 0) {
  ModelSpec spec;
  spec.name = name;
  spec.strategy = std::move(strategy);
  spec.max_concurrency = max_concurrency;
  int n = 0;
  for (double w : key_weights) {
    const std::string id = name + "-k" + std::to_string(n++);
    spec.keys.push_back({"secret-" + id, id, w});
  }
  return spec;
}

inline std::unique_ptr<Pool> make_pool(std::vector<ModelSpec> specs) {
  auto pool = Pool::create(std::move(specs));
  EXPECT_TRUE(pool.ok()) << (pool.ok() ? "" : pool.error().message);
  return pool.ok() ? std::move(pool).value() : nullptr;
}

inline Outcome ok_outcome(std::chrono::milliseconds latency = std::chrono::milliseconds(100)) {
  Outcome o;
  o.ok = true;
  o.latency = latency;
  return o;
}

}  // namespace bc::balance::testing
