// One connection attempt to the configured Redis, run to completion on a private io_context
// (state/connect_check.h).
#include "state/connect_check.h"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <chrono>
#include <cstdio>
#include <optional>

#include "state/redis_link.h"

namespace bc::state {

namespace asio = boost::asio;

namespace {

asio::awaitable<Result<std::string>> try_connect(const config::StateConfig& state) {
  const auto start = std::chrono::steady_clock::now();
  auto executor = co_await asio::this_coro::executor;
  const std::chrono::milliseconds timeout(state.timeout_ms);
  auto link = co_await RedisLink::connect(executor, state.redis, timeout);
  if (!link) co_return std::move(link).error();
  const std::chrono::duration<double, std::milli> took = std::chrono::steady_clock::now() - start;
  char elapsed[32];
  std::snprintf(elapsed, sizeof elapsed, "%.1f", took.count());
  co_return "Redis at " + state.redis.describe() + ": connected, PING answered (" + elapsed +
      " ms with the handshake)";
}

}  // namespace

Result<std::string> check_redis_connection(const config::StateConfig& state) {
  if (!state.redis_enabled()) return std::string("state: local (no Redis to connect to)");
  asio::io_context io;
  std::optional<Result<std::string>> outcome;
  auto attempt = [&]() -> asio::awaitable<void> { outcome.emplace(co_await try_connect(state)); };
  asio::co_spawn(io, attempt(), [&](std::exception_ptr e) {
    if (e && !outcome) outcome.emplace(Error::internal("Redis check failed unexpectedly"));
  });
  // The link's own timeout bounds every step; the resolver has the system's bound.
  io.run();
  if (!outcome) return Error::internal("Redis check did not finish");
  return std::move(*outcome);
}

}  // namespace bc::state
