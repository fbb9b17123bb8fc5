// The pool of models and keys with their live load: the one object the gateway asks "which
// model and key may serve this request now?". Pure: time and randomness come in as
// parameters; no I/O, no logging. Thread-safe: candidates(), try_acquire() and settling a
// lease may run concurrently on every worker thread (per-key state is atomic).
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/chat.h"
#include "core/clock.h"
#include "core/error.h"
#include "core/result.h"

namespace bc::balance {

struct KeySpec {
  std::string secret;  // the raw key (handed to the provider adapter, never shown)
  std::string id;      // public id: configured name or masked key
  double weight = 1;
};

struct ModelSpec {
  std::string name;
  double weight = 1;                     // model_weight
  std::string strategy = "concurrency";  // a name in balance/strategies/registry.cpp
  int max_concurrency = 0;               // per key; 0: unlimited
  double max_qps = 0;                    // per key; 0: unlimited
  bool supports_tools = false;
  std::vector<KeySpec> keys;
};

// What a request needs from a target.
struct Demand {
  std::optional<std::size_t> model;  // a model the caller named; nullopt: any enabled model
  bool needs_tools = false;
  std::int64_t estimated_tokens = 0;
};

struct Target {
  std::uint32_t model = 0;
  std::uint32_t key = 0;
  friend bool operator==(const Target&, const Target&) = default;
};

// How an attempt on a leased target ended; strategies learn from it.
struct Outcome {
  bool ok = false;
  std::chrono::nanoseconds latency{0};
  std::optional<Usage> usage;
  KeyAction action = KeyAction::kNone;
  std::chrono::milliseconds cooldown{0};
};

class Pool;
struct KeyState;

// A slot taken on one key. Move-only. Settle it once with the outcome; a lease destroyed
// unsettled frees its slot without teaching the strategies anything (client went away).
class Lease {
 public:
  Lease(Lease&& other) noexcept;
  Lease& operator=(Lease&& other) noexcept;
  Lease(const Lease&) = delete;
  Lease& operator=(const Lease&) = delete;
  ~Lease();

  Target target() const { return target_; }
  void settle(const Outcome& outcome, TimePoint now);

 private:
  friend class Pool;
  Lease(Pool* pool, Target target, TimePoint started);
  Pool* pool_ = nullptr;
  Target target_;
  TimePoint started_;
};

class Pool {
 public:
  // Errors name the offending model (unknown strategy, no keys, bad weight).
  static Result<std::unique_ptr<Pool>> create(std::vector<ModelSpec> models);
  ~Pool();

  std::size_t model_count() const;
  const ModelSpec& model(std::size_t index) const;
  std::optional<std::size_t> find_model(std::string_view name) const;

  // Targets that can take this demand now, in failover order: a model drawn by model_weight,
  // then that model's keys drawn by weight, then the next model ... Keys at their limit or
  // cooling down are left out. Empty when nothing can serve the demand now.
  std::vector<Target> candidates(const Demand& demand, TimePoint now, Rng& rng) const;

  // Checks the key's limits and takes a slot atomically; nullopt when another request took
  // the last slot since candidates() was called.
  std::optional<Lease> try_acquire(Target target, const Demand& demand, TimePoint now);

  // Requests in flight on one key right now.
  int in_flight(Target target) const;

 private:
  friend class Lease;
  Pool();
  void release(Target target, const Outcome* outcome, TimePoint started, TimePoint now);
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace bc::balance
