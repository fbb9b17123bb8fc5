// Where the shared counters live (`state:` in the config): in this process (`local`, the
// default) or in Redis, so that several gateway instances share every key's limits. Plain
// structs and the pure parsing of a Redis URL; the connection itself is in src/state/.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace bc::config {

// One Redis server: over TCP (host and port) or a unix socket (unix_path set).
struct RedisEndpoint {
  std::string host = "127.0.0.1";
  int port = 6379;
  std::string unix_path;  // non-empty: a unix socket; host and port are unused
  std::string username;   // Redis 6 ACL user; empty: AUTH with the password alone
  std::string password;   // empty: no AUTH
  int db = 0;

  // "127.0.0.1:6379" or "unix:/run/redis.sock", for messages: never the password.
  std::string describe() const;
  friend bool operator==(const RedisEndpoint&, const RedisEndpoint&) = default;
};

struct StateConfig {
  std::string backend = "local";  // local | redis
  RedisEndpoint redis;            // backend redis: from `url` (and `password`)
  // Prepended to every Redis key, so several gateways may share one Redis.
  std::string key_prefix = "bc:";
  // A Redis answer slower than this counts as Redis being unavailable.
  int timeout_ms = 250;
  // How long a concurrency slot taken in Redis lives without renewal: a running request renews
  // it (every third of this), so the slots of an instance that died come back within it.
  int lease_ms = 10'000;
  // Redis unreachable at startup: serve on local shares (serve_degraded) or exit (refuse).
  std::string on_unavailable = "serve_degraded";

  bool redis_enabled() const { return backend == "redis"; }
  friend bool operator==(const StateConfig&, const StateConfig&) = default;
};

struct RedisUrlParse {
  std::optional<RedisEndpoint> endpoint;
  std::string error;  // why the URL was refused, when endpoint is empty
};

// `redis://[[user]:password@]host[:port][/db]` or `unix:/path/to/redis.sock` (also
// `unix:///path`); the password may be percent-encoded. Pure.
RedisUrlParse parse_redis_url(std::string_view url);

}  // namespace bc::config
