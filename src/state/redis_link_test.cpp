// RedisLink and the hiredis-on-Asio adapter against a real redis-server: pipelined answers in
// order, commands sent without waiting, the handshake's errors, a slow and a dead server.
#include "state/redis_link.h"

#include <gtest/gtest.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <optional>

#include "state/connect_check.h"
#include "state/redis_test_server.h"

namespace bc::state {
namespace {

namespace asio = boost::asio;
using namespace std::chrono_literals;
using testing::RedisServer;
using testing::run;

config::RedisEndpoint tcp(const RedisServer& server, std::string password = {}) {
  config::RedisEndpoint e;
  e.port = server.port();
  e.password = std::move(password);
  return e;
}

std::vector<std::string> words(std::initializer_list<const char*> list) {
  return {list.begin(), list.end()};
}

asio::awaitable<void> increment(RedisLink& redis, std::vector<long long>& seen, int& done, int i) {
  auto incr = words({"INCR", "counter"});
  auto answer = co_await redis.command(std::move(incr));
  if (answer) seen[i] = answer->integer;
  ++done;
}

asio::awaitable<void> pipelined(RedisServer& server) {
  auto executor = co_await asio::this_coro::executor;
  auto link = co_await RedisLink::connect(executor, tcp(server), 1000ms);
  EXPECT_TRUE(link) << (link ? "" : link.error().message);
  if (!link) co_return;
  RedisLink& redis = **link;
  std::vector<long long> seen(50, 0);
  int done = 0;
  for (int i = 0; i < 50; ++i) {
    asio::co_spawn(executor, increment(redis, seen, done, i), asio::detached);
  }
  asio::steady_timer timer(executor);
  while (done < 50) {
    timer.expires_after(1ms);
    co_await timer.async_wait(asio::use_awaitable);
  }
  for (int i = 0; i < 50; ++i) EXPECT_EQ(seen[i], i + 1);
}

TEST(RedisLink, PipelinedCommandsAreAnsweredInOrder) {
  RedisServer server;
  run(&pipelined, server);
}

asio::awaitable<void> sent_without_waiting(RedisServer& server) {
  auto executor = co_await asio::this_coro::executor;
  auto link = co_await RedisLink::connect(executor, tcp(server), 1000ms);
  EXPECT_TRUE(link);
  if (!link) co_return;
  for (int i = 0; i < 10; ++i) EXPECT_TRUE((*link)->send(words({"INCRBY", "released", "2"})));
  auto get = words({"GET", "released"});
  auto answer = co_await (*link)->command(std::move(get));
  EXPECT_TRUE(answer);
  if (answer) {
    EXPECT_EQ(answer->text, "20");
  }
  auto unknown = words({"NOSUCHCOMMAND"});
  auto error = co_await (*link)->command(std::move(unknown));
  EXPECT_TRUE(error);  // an error answer, the link still up
  if (error) {
    EXPECT_TRUE(error->is_error());
  }
  EXPECT_TRUE((*link)->up());
}

TEST(RedisLink, CommandsSentWithoutWaitingComeBeforeLaterOnes) {
  RedisServer server;
  run(&sent_without_waiting, server);
}

// Polls `key` through `link` until it reads `want` or `patience` has passed.
asio::awaitable<std::string> read_until(RedisLink& link, const char* key, std::string_view want,
                                        std::chrono::milliseconds patience) {
  asio::steady_timer timer(co_await asio::this_coro::executor);
  const auto end = std::chrono::steady_clock::now() + patience;
  std::string seen;
  while (std::chrono::steady_clock::now() < end) {
    auto get = words({"GET", key});
    auto answer = co_await link.command(std::move(get));
    seen = answer ? answer->text : "(link failed)";
    if (seen == want) break;
    timer.expires_after(1ms);
    co_await timer.async_wait(asio::use_awaitable);
  }
  co_return seen;
}

// A command sent without waiting, right before the link is closed, still reaches Redis.
asio::awaitable<void> sent_before_closing(RedisServer& server) {
  auto executor = co_await asio::this_coro::executor;
  auto closing = co_await RedisLink::connect(executor, tcp(server), 1000ms);
  auto other = co_await RedisLink::connect(executor, tcp(server), 1000ms);
  EXPECT_TRUE(closing && other);
  if (!closing || !other) co_return;
  EXPECT_TRUE((*closing)->send(resp_command({"INCR", "closing"})));
  closing->reset();
  EXPECT_EQ(co_await read_until(**other, "closing", "1", 500ms), "1");
}

TEST(RedisLink, ACommandSentRightBeforeTheLinkClosesStillLeaves) {
  RedisServer server;
  run(&sent_before_closing, server);
}

asio::awaitable<void> unix_socket_and_password(RedisServer& server) {
  auto executor = co_await asio::this_coro::executor;
  config::RedisEndpoint e;
  e.unix_path = server.socket_path();
  e.password = "right-password-123";
  e.db = 3;
  auto link = co_await RedisLink::connect(executor, e, 1000ms);
  EXPECT_TRUE(link) << (link ? "" : link.error().message);
}

TEST(RedisLink, UnixSocketAndPassword) {
  RedisServer server("right-password-123");
  run(&unix_socket_and_password, server);
}

TEST(RedisLink, HandshakeErrorsSayWhatFailed) {
  RedisServer server("right-password-123");
  config::StateConfig state;
  state.backend = "redis";
  state.timeout_ms = 1000;
  state.redis = tcp(server, "wrong");
  auto wrong = check_redis_connection(state);
  ASSERT_FALSE(wrong);
  EXPECT_NE(wrong.error().message.find("refused the password"), std::string::npos)
      << wrong.error().message;

  state.redis.password.clear();
  auto none = check_redis_connection(state);
  ASSERT_FALSE(none);
  EXPECT_NE(none.error().message.find("NOAUTH"), std::string::npos) << none.error().message;

  state.redis.password = "right-password-123";
  auto right = check_redis_connection(state);
  EXPECT_TRUE(right) << (right ? "" : right.error().message);

  server.kill(SIGKILL);
  auto gone = check_redis_connection(state);
  ASSERT_FALSE(gone);
  EXPECT_NE(gone.error().message.find("Connection refused"), std::string::npos)
      << gone.error().message;
  EXPECT_NE(gone.error().message.find("127.0.0.1:" + std::to_string(server.port())),
            std::string::npos);
}

asio::awaitable<void> slow_server(RedisServer& server) {
  auto executor = co_await asio::this_coro::executor;
  auto link = co_await RedisLink::connect(executor, tcp(server), 100ms);
  EXPECT_TRUE(link);
  if (!link) co_return;
  server.signal(SIGSTOP);
  const auto start = std::chrono::steady_clock::now();
  auto ping = words({"PING"});
  auto answer = co_await (*link)->command(std::move(ping));
  server.signal(SIGCONT);
  EXPECT_FALSE(answer);
  if (!answer) {
    EXPECT_NE(answer.error().message.find("no answer within 100 ms"), std::string::npos);
  }
  EXPECT_GE(std::chrono::steady_clock::now() - start, 100ms);
  EXPECT_FALSE((*link)->up());
  auto ping_again = words({"PING"});
  auto after = co_await (*link)->command(std::move(ping_again));
  EXPECT_FALSE(after);
  EXPECT_FALSE((*link)->send(words({"PING"})));
}

TEST(RedisLink, ASlowServerEndsTheLinkAfterTheTimeout) {
  RedisServer server;
  run(&slow_server, server);
}

asio::awaitable<void> dead_server(RedisServer& server) {
  auto executor = co_await asio::this_coro::executor;
  auto link = co_await RedisLink::connect(executor, tcp(server), 5000ms);
  EXPECT_TRUE(link);
  if (!link) co_return;
  // BLPOP waits on the server; killing the server must end it at once, not at the timeout.
  server.signal(SIGKILL);
  auto blpop = words({"BLPOP", "nothing", "3"});
  auto answer = co_await (*link)->command(std::move(blpop));
  EXPECT_FALSE(answer);
  EXPECT_FALSE((*link)->up());
}

TEST(RedisLink, ADeadServerFailsTheCommandsInFlight) {
  RedisServer server;
  run(&dead_server, server);
}

}  // namespace
}  // namespace bc::state
