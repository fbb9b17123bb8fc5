#include "net/send_now.h"

#include <gtest/gtest.h>

#include <array>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read.hpp>
#include <string>
#include <vector>

namespace bc::net {
namespace {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;

// A connected pair of sockets on 127.0.0.1.
struct Pair {
  asio::io_context io;
  tcp::socket a{io};
  tcp::socket b{io};
  Pair() {
    tcp::acceptor acceptor(io, {asio::ip::make_address("127.0.0.1"), 0});
    a.connect(acceptor.local_endpoint());
    acceptor.accept(b);
  }
};

std::vector<std::size_t> sizes(std::span<asio::const_buffer> pieces) {
  std::vector<std::size_t> out;
  for (const auto& p : pieces) out.push_back(p.size());
  return out;
}

TEST(SendNow, DropSentLeavesTheUnsentSuffix) {
  const std::string one = "abcd", two = "efg", three = "hi";
  auto fresh = [&] {
    return std::array<asio::const_buffer, 3>{asio::buffer(one), asio::buffer(two),
                                             asio::buffer(three)};
  };
  auto p = fresh();
  EXPECT_EQ(sizes(drop_sent(p, 0)), (std::vector<std::size_t>{4, 3, 2}));
  p = fresh();
  const auto mid = drop_sent(p, 5);
  EXPECT_EQ(sizes(mid), (std::vector<std::size_t>{2, 2}));
  EXPECT_EQ(*static_cast<const char*>(mid[0].data()), 'f');
  p = fresh();
  EXPECT_EQ(sizes(drop_sent(p, 7)), (std::vector<std::size_t>{2}));
  p = fresh();
  EXPECT_TRUE(drop_sent(p, 9).empty());
}

TEST(SendNow, SendsWhatTheSocketTakesAndNeverWaits) {
  Pair pair;
  const std::string head = "head:", body = "body";
  std::array<asio::const_buffer, 3> pieces{asio::buffer(head), asio::const_buffer(),
                                           asio::buffer(body)};
  boost::system::error_code ec;
  EXPECT_EQ(send_now(pair.a, pieces, ec), 9u);
  EXPECT_FALSE(ec);
  std::string got(9, '\0');
  asio::read(pair.b, asio::buffer(got));
  EXPECT_EQ(got, "head:body");

  // More than the kernel buffers hold, with nobody reading: part of it, no error, no wait.
  const std::string big(64 << 20, 'x');
  std::array<asio::const_buffer, 1> large{asio::buffer(big)};
  const std::size_t sent = send_now(pair.a, large, ec);
  EXPECT_FALSE(ec) << ec.message();
  EXPECT_GT(sent, 0u);
  EXPECT_LT(sent, big.size());
  // Full now: nothing more, still no error.
  auto rest = drop_sent(large, sent);
  EXPECT_EQ(send_now(pair.a, rest, ec), 0u);
  EXPECT_FALSE(ec);
}

TEST(SendNow, AClosedPeerIsAnError) {
  Pair pair;
  pair.b.close();
  const std::string data(1024, 'y');
  std::array<asio::const_buffer, 1> pieces{asio::buffer(data)};
  boost::system::error_code ec;
  // The first send may still be taken by the kernel; the reset it draws fails the next ones.
  for (int i = 0; i < 50 && !ec; ++i) (void)send_now(pair.a, pieces, ec);
  EXPECT_TRUE(ec);
}

}  // namespace
}  // namespace bc::net
