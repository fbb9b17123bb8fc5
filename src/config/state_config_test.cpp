// The `state:` section and Redis URL parsing (config/state_config.h, state_section.h).
#include "config/state_config.h"

#include <gtest/gtest.h>

#include <map>

#include "config/loader.h"

namespace bc::config {
namespace {

std::optional<RedisEndpoint> url(std::string_view text) {
  return parse_redis_url(text).endpoint;
}

TEST(RedisUrl, HostPortAndDatabase) {
  const auto e = url("redis://cache.internal:6380/2");
  ASSERT_TRUE(e);
  EXPECT_EQ(e->host, "cache.internal");
  EXPECT_EQ(e->port, 6380);
  EXPECT_EQ(e->db, 2);
  EXPECT_TRUE(e->password.empty());
  EXPECT_EQ(e->describe(), "cache.internal:6380");
}

TEST(RedisUrl, DefaultsToPort6379AndDatabase0) {
  const auto e = url("redis://127.0.0.1");
  ASSERT_TRUE(e);
  EXPECT_EQ(e->port, 6379);
  EXPECT_EQ(e->db, 0);
}

TEST(RedisUrl, PasswordAndUserArePercentDecodedAndNeverDescribed) {
  const auto e = url("redis://app:p%40ss:w@10.0.0.5:7000");
  ASSERT_TRUE(e);
  EXPECT_EQ(e->username, "app");
  EXPECT_EQ(e->password, "p@ss:w");
  EXPECT_EQ(e->host, "10.0.0.5");
  EXPECT_EQ(e->describe().find("ss"), std::string::npos);
  const auto only_password = url("redis://:secret@host");
  ASSERT_TRUE(only_password);
  EXPECT_EQ(only_password->username, "");
  EXPECT_EQ(only_password->password, "secret");
}

TEST(RedisUrl, Ipv6Host) {
  const auto e = url("redis://[::1]:6390");
  ASSERT_TRUE(e);
  EXPECT_EQ(e->host, "::1");
  EXPECT_EQ(e->port, 6390);
  EXPECT_EQ(e->describe(), "[::1]:6390");
}

TEST(RedisUrl, UnixSocketPath) {
  const auto a = url("unix:/run/redis/redis.sock");
  ASSERT_TRUE(a);
  EXPECT_EQ(a->unix_path, "/run/redis/redis.sock");
  EXPECT_EQ(a->describe(), "unix:/run/redis/redis.sock");
  const auto b = url("unix:///tmp/r.sock");
  ASSERT_TRUE(b);
  EXPECT_EQ(b->unix_path, "/tmp/r.sock");
}

TEST(RedisUrl, RefusesWhatItCannotUseAndSaysWhy) {
  for (const char* bad : {"http://host", "redis://", "redis://host:0", "redis://host:99999",
                          "redis://host:abc", "redis://host/x", "redis://pass@host",
                          "redis://:p%4@host", "unix:relative.sock", "redis://[::1"}) {
    const auto parsed = parse_redis_url(bad);
    EXPECT_FALSE(parsed.endpoint) << bad;
    EXPECT_FALSE(parsed.error.empty()) << bad;
  }
}

Config load_state(std::string_view state_yaml, std::map<std::string, std::string> vars = {}) {
  const std::string yaml =
      std::string("models:\n  m:\n    provider: mock\n    api_keys: [{key: k}]\n") +
      std::string(state_yaml);
  const EnvLookup env = [vars](const std::string& name) -> std::optional<std::string> {
    auto it = vars.find(name);
    if (it == vars.end()) return std::nullopt;
    return it->second;
  };
  return load_config_text(yaml, "test.yaml", env);
}

std::string load_error(std::string_view state_yaml) {
  try {
    load_state(state_yaml);
  } catch (const ConfigError& e) {
    return e.what();
  }
  return "";
}

TEST(StateSection, LocalIsTheDefault) {
  const Config c = load_state("");
  EXPECT_EQ(c.state.backend, "local");
  EXPECT_FALSE(c.state.redis_enabled());
  EXPECT_EQ(c.state.on_unavailable, "serve_degraded");
}

TEST(StateSection, RedisWithPasswordFromTheEnvironment) {
  const Config c = load_state(
      "state:\n  backend: redis\n  url: redis://127.0.0.1:7001/1\n  password: ${REDIS_PW}\n"
      "  key_prefix: \"gw-a:\"\n  timeout_ms: 50\n  lease_ms: 2000\n  on_unavailable: refuse\n",
      {{"REDIS_PW", "from-env"}});
  EXPECT_TRUE(c.state.redis_enabled());
  EXPECT_EQ(c.state.redis.port, 7001);
  EXPECT_EQ(c.state.redis.db, 1);
  EXPECT_EQ(c.state.redis.password, "from-env");
  EXPECT_EQ(c.state.key_prefix, "gw-a:");
  EXPECT_EQ(c.state.timeout_ms, 50);
  EXPECT_EQ(c.state.lease_ms, 2000);
  EXPECT_EQ(c.state.on_unavailable, "refuse");
}

TEST(StateSection, ErrorsNameFileLineAndField) {
  EXPECT_NE(load_error("state:\n  backend: redis\n").find("test.yaml:5: state.url"),
            std::string::npos);
  EXPECT_NE(load_error("state:\n  backend: memcached\n")
                .find("test.yaml:6: state.backend: 'memcached' is not one of local, redis"),
            std::string::npos);
  EXPECT_NE(load_error("state:\n  backend: redis\n  url: redis://h:0\n")
                .find("test.yaml:7: state.url: the port"),
            std::string::npos);
  EXPECT_NE(load_error("state:\n  on_unavailable: crash\n").find("state.on_unavailable"),
            std::string::npos);
  EXPECT_NE(load_error("state:\n  timeout_ms: 0\n").find("state.timeout_ms"), std::string::npos);
  EXPECT_NE(load_error("state:\n  lease_ms: 10\n").find("state.lease_ms"), std::string::npos);
  EXPECT_NE(load_error("state:\n  urll: redis://h\n").find("state.urll"), std::string::npos);
}

}  // namespace
}  // namespace bc::config
