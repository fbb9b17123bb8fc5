// The real mockllm binary as a server: stats, a thousand streams at once, pacing, clients that
// leave, keep-alive, resets, routing and SIGTERM.
#include <gtest/gtest.h>

#include "mockllm_test_support.h"

namespace bc::mockllm::testing_mockllm {
namespace {

awaitable<json::object> stats_after(unsigned short port, std::chrono::milliseconds delay) {
  asio::steady_timer timer(co_await asio::this_coro::executor, delay);
  co_await timer.async_wait(use_awaitable);
  auto reply = co_await fetch(port, make_request(http::verb::get, "/_mock/stats", "", ""));
  co_return json::parse(reply.body).as_object();
}

TEST_F(MockLlm, StatsCountConcurrentRequestsAndTheMostInFlight) {
  constexpr int kRequests = 8;
  asio::io_context io;
  int answered_ok = 0;
  for (int i = 0; i < kRequests; ++i) {
    asio::co_spawn(io,
                   fetch(mock_.port(), make_request(http::verb::post, "/v1/chat/completions",
                                                    "busy;latency=600", chat_body(false))),
                   [&](std::exception_ptr e, Reply reply) {
                     if (!e && reply.status == 200) ++answered_ok;
                   });
  }
  std::optional<json::object> during;
  asio::co_spawn(io, stats_after(mock_.port(), 300ms), [&](std::exception_ptr e, json::object doc) {
    if (!e) during = std::move(doc);
  });
  io.run_for(10s);

  EXPECT_EQ(answered_ok, kRequests);
  ASSERT_TRUE(during);
  EXPECT_EQ(during->at("keys").at("busy").at("in_flight"), kRequests);
  const auto busy = key_stats("busy");
  EXPECT_EQ(busy.at("requests"), kRequests);
  EXPECT_EQ(busy.at("in_flight"), 0);
  EXPECT_EQ(busy.at("max_in_flight"), kRequests);
  EXPECT_EQ(busy.at("completed"), kRequests);
  EXPECT_EQ(busy.at("client_closed"), 0);
  EXPECT_EQ(busy.at("starts_ms").as_array().size(), static_cast<std::size_t>(kRequests));
}

// The descriptors this process may open: the soft limit raised to the hard one (a fresh
// Debian shell starts at 1024, too few for a thousand client sockets).
rlim_t raise_descriptor_limit() {
  rlimit limit{};
  if (getrlimit(RLIMIT_NOFILE, &limit) != 0) return 1024;
  limit.rlim_cur = limit.rlim_max;
  setrlimit(RLIMIT_NOFILE, &limit);
  getrlimit(RLIMIT_NOFILE, &limit);
  return limit.rlim_cur;
}

TEST_F(MockLlm, HoldsAThousandConcurrentStreams) {
  const rlim_t descriptors = raise_descriptor_limit();
  ASSERT_GT(descriptors, 1100u) << "this test needs RLIMIT_NOFILE above 1100";
  constexpr int kStreams = 1000;
  asio::io_context io;
  int finished = 0;
  for (int i = 0; i < kStreams; ++i) {
    asio::co_spawn(
        io,
        fetch(mock_.port(), make_request(http::verb::post, "/v1/chat/completions",
                                         "crowd;latency=1500;tokens=3;gap=20", chat_body(true))),
        [&](std::exception_ptr e, Reply reply) {
          if (!e && reply.complete && reply.body.ends_with("data: [DONE]\n\n")) {
            ++finished;
          }
        });
  }
  io.run_for(20s);
  EXPECT_EQ(finished, kStreams);
  const auto crowd = key_stats("crowd");
  EXPECT_EQ(crowd.at("completed"), kStreams);
  EXPECT_EQ(crowd.at("max_in_flight"), kStreams);
}

TEST_F(MockLlm, SlowStreamFlushesEachChunkAsItIsProduced) {
  struct Timing {
    Clock::duration first_content;
    Clock::duration total;
    int body_reads = 0;
    bool saw_done = false;
  };
  const auto timing = run([&]() -> awaitable<Timing> {
    auto socket = co_await connect(mock_.port());
    auto request = make_request(http::verb::post, "/v1/chat/completions", "slow;gap=100;tokens=10",
                                chat_body(true));
    const auto start = Clock::now();
    co_await http::async_write(socket, request, use_awaitable);
    beast::flat_buffer buffer;
    http::response_parser<http::string_body> parser;
    Timing t{};
    std::size_t seen = 0;
    while (!parser.is_done()) {
      co_await http::async_read_some(socket, buffer, parser, use_awaitable);
      const auto& body = parser.get().body();
      if (body.size() != seen) ++t.body_reads;
      seen = body.size();
      if (t.first_content == Clock::duration{} && body.find("Hello") != std::string::npos) {
        t.first_content = Clock::now() - start;
      }
    }
    t.total = Clock::now() - start;
    t.saw_done = parser.get().body().ends_with("data: [DONE]\n\n");
    co_return t;
  }());
  EXPECT_TRUE(timing.saw_done);
  EXPECT_LT(timing.first_content, 500ms);
  EXPECT_GE(timing.total, 1000ms);
  EXPECT_GE(timing.body_reads, 10);  // the pieces arrived one by one, not as one block
}

TEST_F(MockLlm, ClientClosingMidStreamIsCountedAtOnceDuringALongGap) {
  // A 5 s gap: only watching the read side can notice the close before the next write.
  run([&]() -> awaitable<bool> {
    auto socket = co_await connect(mock_.port());
    auto request =
        make_request(http::verb::post, "/v1/chat/completions", "quitter;gap=5000", chat_body(true));
    co_await http::async_write(socket, request, use_awaitable);
    beast::flat_buffer buffer;
    http::response_parser<http::string_body> parser;
    while (parser.get().body().find("Hello") == std::string::npos) {
      co_await http::async_read_some(socket, buffer, parser, use_awaitable);
    }
    socket.close();
    co_return true;
  }());
  const auto took = wait_for_key("quitter", [](const json::object& key) {
    return key.at("client_closed") == 1 && key.at("in_flight") == 0;
  });
  EXPECT_LT(took, 500ms);
  const auto key = key_stats("quitter");
  EXPECT_EQ(key.at("client_closed"), 1);
  EXPECT_EQ(key.at("in_flight"), 0);
  EXPECT_EQ(key.at("completed"), 0);
}

TEST_F(MockLlm, ClientClosingBeforeTheAnswerIsCountedAsClientClosed) {
  run([&]() -> awaitable<bool> {
    auto socket = co_await connect(mock_.port());
    auto request = make_request(http::verb::post, "/v1/chat/completions", "impatient;latency=5000",
                                chat_body(false));
    co_await http::async_write(socket, request, use_awaitable);
    asio::steady_timer timer(co_await asio::this_coro::executor, 100ms);
    co_await timer.async_wait(use_awaitable);
    socket.close();
    co_return true;
  }());
  const auto took = wait_for_key("impatient", [](const json::object& key) {
    return key.at("client_closed") == 1 && key.at("in_flight") == 0;
  });
  EXPECT_LT(took, 500ms);
  EXPECT_EQ(key_stats("impatient").at("client_closed"), 1);
}

TEST_F(MockLlm, KeepAliveServesSeveralRequestsOnOneConnection) {
  const auto statuses = run([&]() -> awaitable<std::vector<int>> {
    auto socket = co_await connect(mock_.port());
    beast::flat_buffer buffer;
    std::vector<int> out;
    for (bool stream : {false, true, false}) {
      auto request =
          make_request(http::verb::post, "/v1/chat/completions", "reuse;gap=1", chat_body(stream));
      co_await http::async_write(socket, request, use_awaitable);
      const auto reply = co_await read_reply(socket, buffer);
      out.push_back(reply.complete ? reply.status : -1);
    }
    co_return out;
  }());
  EXPECT_EQ(statuses, (std::vector<int>{200, 200, 200}));
  const auto reuse = key_stats("reuse");
  EXPECT_EQ(reuse.at("requests"), 3);
  EXPECT_EQ(reuse.at("completed"), 3);
}

TEST_F(MockLlm, StatsReportOpenConnections) {
  run([&]() -> awaitable<bool> {
    auto held = co_await connect(mock_.port());
    auto request = make_request(http::verb::get, "/_mock/stats", "", "");
    co_await http::async_write(held, request, use_awaitable);
    beast::flat_buffer buffer;
    const auto reply = co_await read_reply(held, buffer);
    // This connection is open while the mock builds the answer.
    EXPECT_GE(json::parse(reply.body).at("connections_open").as_int64(), 1);
    co_return true;
  }());
  // Every client connection is gone now.
  const auto start = Clock::now();
  std::int64_t open = -1;
  while (Clock::now() - start < 2s) {
    open = stats().at("connections_open").as_int64();
    if (open == 1) break;  // only the stats request's own connection
    std::this_thread::sleep_for(5ms);
  }
  EXPECT_EQ(open, 1);
}

TEST_F(MockLlm, ResetClearsTheCounters) {
  ASSERT_EQ(chat("gone", false).status, 200);
  ASSERT_EQ(key_stats("gone").at("requests"), 1);
  const auto reset =
      run(fetch(mock_.port(), make_request(http::verb::post, "/_mock/reset", "", "")));
  EXPECT_EQ(reset.status, 200);
  EXPECT_TRUE(key_stats("gone").empty());
  // fail_first counts again from the reset.
  EXPECT_EQ(chat("again;fail_first=1", false).status, 500);
  run(fetch(mock_.port(), make_request(http::verb::post, "/_mock/reset", "", "")));
  EXPECT_EQ(chat("again;fail_first=1", false).status, 500);
}

TEST_F(MockLlm, UnknownPathIs404AndWrongMethodIs405) {
  const auto missing = post("/v1/nothing-here", "k", chat_body(false));
  EXPECT_EQ(missing.status, 404);
  EXPECT_TRUE(json::parse(missing.body).as_object().contains("error"));
  const auto wrong =
      run(fetch(mock_.port(), make_request(http::verb::get, "/v1/chat/completions", "k", "")));
  EXPECT_EQ(wrong.status, 405);
}

TEST_F(MockLlm, ExitsCleanlyOnSigtermWithAClientConnected) {
  const auto status = run([&]() -> awaitable<int> {
    auto idle = co_await connect(mock_.port());  // a keep-alive client holding a connection
    auto request = make_request(http::verb::post, "/v1/chat/completions", "k", chat_body(false));
    co_await http::async_write(idle, request, use_awaitable);
    beast::flat_buffer buffer;
    co_await read_reply(idle, buffer);
    co_return mock_.stop();
  }());
  EXPECT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 0);
}

}  // namespace
}  // namespace bc::mockllm::testing_mockllm
