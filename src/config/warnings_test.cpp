#include "config/warnings.h"

#include <gtest/gtest.h>

namespace bc::config {
namespace {

Config with_clients(bool clients) {
  Config c;
  c.source = "gw.yaml";
  if (clients) c.auth.client_keys.push_back(ClientKeyConfig{"app", "client-key-1", {}, 0, 3});
  return c;
}

TEST(LoopbackHost, KnowsLoopbackAddresses) {
  for (const char* host :
       {"127.0.0.1", "127.1.2.3", "localhost", "::1", "[::1]", "::ffff:127.0.0.1"}) {
    EXPECT_TRUE(is_loopback_host(host)) << host;
  }
  for (const char* host : {"0.0.0.0", "::", "[::]", "10.0.0.1", "127.0.0", "127.0.0.256",
                           "127.0.0.1.5", "127.example.com", "gateway.local", ""}) {
    EXPECT_FALSE(is_loopback_host(host)) << host;
  }
}

TEST(SecurityWarnings, NoneForTheDefaults) {
  const Config c = with_clients(false);
  EXPECT_EQ(c.server.host, "127.0.0.1");
  EXPECT_TRUE(security_warnings(c, c.server.host).empty());
}

TEST(SecurityWarnings, OpenRelayBeyondLoopbackWithoutClientKeys) {
  const auto w = security_warnings(with_clients(false), "0.0.0.0");
  ASSERT_EQ(w.size(), 1u);
  EXPECT_TRUE(w[0].starts_with("gw.yaml: warning: server.host is '0.0.0.0'")) << w[0];
  EXPECT_NE(w[0].find("auth.client_keys is empty"), std::string::npos) << w[0];
}

TEST(SecurityWarnings, ClientKeysWithoutMetricsToken) {
  Config c = with_clients(true);
  auto w = security_warnings(c, "0.0.0.0");
  ASSERT_EQ(w.size(), 1u);
  EXPECT_NE(w[0].find("admin.metrics_token is not"), std::string::npos) << w[0];
  // Also on loopback: a local proxy may pass anyone through.
  EXPECT_EQ(security_warnings(c, "127.0.0.1").size(), 1u);
  c.admin.metrics_token = "metrics-token-1";
  EXPECT_TRUE(security_warnings(c, "0.0.0.0").empty());
}

}  // namespace
}  // namespace bc::config
