// RedisSession against a real redis-server: up with a heartbeat, the live instances counted
// from heartbeats, down when Redis dies, up again by itself when Redis returns.
#include "state/redis_session.h"

#include <gtest/gtest.h>

#include <boost/asio/io_context.hpp>
#include <optional>
#include <thread>

#include "state/redis_test_server.h"

namespace bc::state {
namespace {

namespace asio = boost::asio;
using namespace std::chrono_literals;
using testing::RedisServer;

RedisSessionOptions options_for(int port, std::string id) {
  RedisSessionOptions o;
  o.endpoint.port = port;
  o.timeout = 200ms;
  o.key_prefix = "t:";
  o.instance_id = std::move(id);
  o.heartbeat_every = 50ms;
  o.heartbeat_ttl = 500ms;
  o.backoff_base = 20ms;
  o.backoff_max = 200ms;
  return o;
}

// Runs `io` until `done` holds or `limit` passes; true when `done` held.
template <class Done>
bool run_until(asio::io_context& io, Done done, std::chrono::milliseconds limit) {
  const auto end = std::chrono::steady_clock::now() + limit;
  while (!done() && std::chrono::steady_clock::now() < end) {
    io.run_for(10ms);
    if (io.stopped()) io.restart();
  }
  return done();
}

TEST(RedisSession, UpDownAndUpAgainWithTheLiveInstancesCounted) {
  auto server = std::make_optional<RedisServer>();
  const int port = server->port();
  asio::io_context io;
  std::vector<std::pair<bool, std::string>> changes;
  auto a = std::make_shared<RedisSession>(
      io.get_executor(), options_for(port, "a"),
      [&](bool up, const std::string& why) { changes.emplace_back(up, why); });
  auto b = std::make_shared<RedisSession>(io.get_executor(), options_for(port, "b"), nullptr);
  a->start();
  b->start();
  ASSERT_TRUE(run_until(
      io, [&] { return a->up() && b->up() && a->live().live == 2; }, 3s));
  EXPECT_NE(a->link(), nullptr);
  EXPECT_EQ(a->live().rank, 0);
  ASSERT_TRUE(run_until(
      io, [&] { return b->live().live == 2; }, 1s));
  EXPECT_EQ(b->live().rank, 1);
  ASSERT_EQ(changes.size(), 1u);
  EXPECT_TRUE(changes[0].first);

  // b stops beating: after the heartbeat TTL, a counts itself alone.
  b->stop();
  ASSERT_TRUE(run_until(
      io, [&] { return a->live().live == 1; }, 2s));

  server.reset();  // SIGKILL
  ASSERT_TRUE(run_until(
      io, [&] { return !a->up(); }, 2s));
  EXPECT_EQ(a->link(), nullptr);
  ASSERT_EQ(changes.size(), 2u);
  EXPECT_FALSE(changes[1].first);
  EXPECT_FALSE(changes[1].second.empty());

  // Still down after some failed attempts: announced once, not at each attempt.
  run_until(
      io, [] { return false; }, 300ms);
  EXPECT_EQ(changes.size(), 2u);

  server.emplace("", port);
  ASSERT_TRUE(run_until(
      io, [&] { return a->up(); }, 3s));
  ASSERT_EQ(changes.size(), 3u);
  EXPECT_TRUE(changes[2].first);
  a->stop();
  io.run_for(50ms);
}

}  // namespace
}  // namespace bc::state
