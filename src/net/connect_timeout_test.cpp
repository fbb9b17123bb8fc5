// A connect that never completes ends at the connect timeout with a retryable error naming
// the origin. The listener here never accepts, and its accept queue is filled first, so the
// kernel drops the client's SYN and the connect hangs as it would on a dead host.
#include <vector>

#include <sys/socket.h>

#include "net/client_test_support.h"

namespace bc::net {
namespace {

using namespace testing_client;
using namespace std::chrono_literals;
using tcp = asio::ip::tcp;

TEST_F(HttpClientTest, AListenerThatNeverAcceptsEndsAtTheConnectTimeout) {
  tcp::acceptor listener(io_);
  listener.open(tcp::v4());
  listener.bind(tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
  listener.listen(0);  // an accept queue of one: full after a connection or two
  const auto port = listener.local_endpoint().port();
  // Fill the accept queue (connections the listener never takes); each completes at once
  // until the queue is full, and the next one hangs.
  std::vector<tcp::socket> fillers;
  for (int i = 0; i < 8; ++i) {
    tcp::socket s(io_);
    s.open(tcp::v4());
    // A plain non-blocking connect: Asio's own connect() would wait for the one that hangs.
    s.non_blocking(true);
    const tcp::endpoint to(asio::ip::make_address("127.0.0.1"), port);
    [[maybe_unused]] const int rc = ::connect(s.native_handle(), to.data(), to.size());
    fillers.push_back(std::move(s));
  }
  Timeouts timeouts = timeouts_;
  timeouts.connect = 300ms;
  run([&]() -> awaitable<void> {
    auto call = client_.call();
    const auto t0 = Clock::now();
    auto started = co_await call->start(
        request("http://127.0.0.1:" + std::to_string(port) + "/v1/chat/completions"), timeouts);
    const auto took = Clock::now() - t0;
    CO_ASSERT_TRUE(!started.ok());
    EXPECT_EQ(started.error().code, "connect_timeout") << started.error().message;
    EXPECT_TRUE(started.error().retryable);
    EXPECT_NE(started.error().message.find("127.0.0.1:" + std::to_string(port)), std::string::npos);
    EXPECT_GE(took, 300ms);
    EXPECT_LT(took, 2s);
  });
}

}  // namespace
}  // namespace bc::net
