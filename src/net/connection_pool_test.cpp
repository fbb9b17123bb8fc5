#include "net/connection_pool.h"

#include <gtest/gtest.h>

#include <boost/asio/io_context.hpp>

namespace bc::net {
namespace {

using std::chrono::seconds;

class ConnectionPoolTest : public ::testing::Test {
 protected:
  std::unique_ptr<Connection> make(const std::string& origin) {
    return std::make_unique<Connection>(origin, boost::asio::ip::tcp::socket(io_));
  }
  boost::asio::io_context io_;
  TimePoint t0_ = TimePoint{} + std::chrono::hours(1);
};

TEST_F(ConnectionPoolTest, HandsOutNewestFirstPerOrigin) {
  ConnectionPool pool(4, seconds(60));
  auto a = make("http://a:80");
  auto b = make("http://a:80");
  Connection* newest = b.get();
  pool.put(std::move(a), t0_);
  pool.put(std::move(b), t0_ + seconds(1));
  pool.put(make("http://other:80"), t0_);
  EXPECT_EQ(pool.idle_count(), 3u);
  EXPECT_EQ(pool.take("http://a:80", t0_ + seconds(2)).get(), newest);
  EXPECT_NE(pool.take("http://a:80", t0_ + seconds(2)), nullptr);
  EXPECT_EQ(pool.take("http://a:80", t0_ + seconds(2)), nullptr);
  EXPECT_EQ(pool.idle_count("http://other:80"), 1u);
}

TEST_F(ConnectionPoolTest, DiscardsConnectionsOlderThanTtl) {
  ConnectionPool pool(4, seconds(60));
  pool.put(make("http://a:80"), t0_);
  EXPECT_EQ(pool.take("http://a:80", t0_ + seconds(61)), nullptr);
  EXPECT_EQ(pool.idle_count(), 0u);
}

TEST_F(ConnectionPoolTest, SweepsExpiredConnectionsOfOtherOrigins) {
  ConnectionPool pool(4, seconds(60));
  pool.put(make("http://a:80"), t0_);
  pool.put(make("http://b:80"), t0_ + seconds(30));
  EXPECT_EQ(pool.take("http://c:80", t0_ + seconds(70)), nullptr);
  EXPECT_EQ(pool.idle_count("http://a:80"), 0u);
  EXPECT_EQ(pool.idle_count("http://b:80"), 1u);
}

TEST_F(ConnectionPoolTest, KeepsAtMostMaxIdlePerOriginDroppingTheOldest) {
  ConnectionPool pool(2, seconds(60));
  auto first = make("http://a:80");
  Connection* oldest = first.get();
  pool.put(std::move(first), t0_);
  pool.put(make("http://a:80"), t0_);
  pool.put(make("http://a:80"), t0_);
  EXPECT_EQ(pool.idle_count("http://a:80"), 2u);
  auto x = pool.take("http://a:80", t0_);
  auto y = pool.take("http://a:80", t0_);
  EXPECT_NE(x.get(), oldest);
  EXPECT_NE(y.get(), oldest);
}

TEST_F(ConnectionPoolTest, ZeroMaxIdleKeepsNothing) {
  ConnectionPool pool(0, seconds(60));
  pool.put(make("http://a:80"), t0_);
  EXPECT_EQ(pool.idle_count(), 0u);
}

}  // namespace
}  // namespace bc::net
