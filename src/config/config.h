// The gateway's configuration as plain structs. Loaded by config/loader.h from YAML; the
// seed's field names keep their names and meaning (enabled_models, api_keys, model_weight,
// max_concurrency, max_qps, default_temperature, max_retries, supports_tools).
#pragma once

#include <any>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "config/state_config.h"
#include "core/time_zone.h"

namespace bc::config {

struct KeyConfig {
  std::string key;    // the secret, after ${ENV} substitution
  double weight = 1;  // share of this model's traffic
  std::string name;   // public id; empty: the masked key is used
  int line = 0;       // line in the config file, for messages
};

// A key's circuit breaker (balance/breaker.h): after `failures` upstream faults (5xx, connect
// errors, timeouts) within `window_ms` the key takes no traffic for `open_ms`, then one trial
// request decides whether it comes back.
struct BreakerConfig {
  int failures = 5;  // 0: the breaker never opens
  int window_ms = 30'000;
  int open_ms = 30'000;
};

struct ModelConfig {
  std::string name;      // the key under `models:`; what clients put in "model"
  std::string provider;  // a name in providers/registry.cpp
  std::string model;     // the upstream model id; default: name
  std::string base_url;  // required for network providers; default per provider when known
  std::vector<KeyConfig> api_keys;
  double model_weight = 1;
  std::string strategy = "concurrency";
  int max_concurrency = 0;  // per key; 0: unlimited
  double max_qps = 0;       // per key, in any one-second window; 0: unlimited
  int rpm = 0;              // requests per key in any minute (strategy `tokens`); 0: unlimited
  int tpm = 0;              // tokens per key in any minute (strategy `tokens`); 0: unlimited
  // Daily quotas per key: requests and tokens per day, the day starting at quota_reset_hour
  // in quota_time_zone (UTC, a fixed offset, or an IANA zone read from its TZif file). 0:
  // unlimited. Counted in the usage ledger too, so they survive a restart when it is on.
  std::int64_t rpd = 0;
  std::int64_t tpd = 0;
  int quota_reset_hour = 0;
  TimeZone quota_time_zone;
  double decay_factor = 0.8;  // latency EWMA decay (strategy `response_time`)
  bool auto_weight = false;   // effective key weights follow live load and latency
  int cooldown_ms = 5000;     // key cooldown after a rate-limit answer with no hint
  // How long a request may wait for a free key of this model; -1: the global queue setting.
  int queue_timeout_ms = -1;
  std::optional<double> default_temperature;
  int max_retries = 2;
  bool supports_tools = false;
  // The provider's own fields (Zhipu's jwt_auth, the mock's `mock:`), read and checked by the
  // provider (providers/model_options.h) and held here as its own type, unseen by the rest.
  std::any own_options;
  // An embedding model: served on POST /v1/embeddings only, never for chat (its provider must
  // embed: openai, zhipu, gemini, ollama, mock).
  bool embeddings = false;
  // Per-model upstream timeouts; 0: the global `upstream` value.
  int connect_timeout_ms = 0;
  int first_byte_timeout_ms = 0;
  int idle_timeout_ms = 0;
  int total_timeout_ms = 0;  // 0: the global `retry.total_timeout_ms`
  BreakerConfig breaker;     // the global `breaker`, with this model's own fields over it
  // Verify an https:// upstream's certificate chain and host name. false only for a local
  // upstream with a self-signed certificate; it applies to this model's calls only.
  bool tls_verify = true;
  // A PEM bundle of CAs trusted for this model's upstream, besides the system's and
  // `upstream.ca_file`; empty: none. Relative paths are resolved against the config's folder.
  std::string ca_file;
  int line = 0;
};

// HTTPS on the listener: both files, or neither (plain HTTP).
struct ServerTlsConfig {
  std::string cert_file;  // PEM certificate chain, the server's certificate first
  std::string key_file;   // PEM private key
  bool enabled() const { return !cert_file.empty(); }
  friend bool operator==(const ServerTlsConfig&, const ServerTlsConfig&) = default;
};

struct ServerConfig {
  // Loopback by default: with no client keys, anyone who reaches the port spends the keys.
  std::string host = "127.0.0.1";
  int port = 9000;
  int threads = 0;  // 0: one per core
  std::size_t max_body_bytes = 8 * 1024 * 1024;
  std::size_t max_header_bytes = 16 * 1024;
  // Open client connections over all workers; one beyond it is answered 503. 0: no limit.
  int max_connections = 4096;
  // Request body bytes held at once over all connections; 0: no limit.
  std::size_t max_body_bytes_in_flight = 256 * 1024 * 1024;
  int read_timeout_ms = 30'000;    // a whole request must arrive within this
  int write_timeout_ms = 30'000;   // each write to the client
  int idle_timeout_ms = 60'000;    // keep-alive connection with no request
  int shutdown_grace_ms = 30'000;  // on SIGTERM/SIGINT, in-flight requests get this long
  friend bool operator==(const ServerConfig&, const ServerConfig&) = default;
  ServerTlsConfig tls;
};

struct UpstreamConfig {
  int connect_timeout_ms = 10'000;
  int first_byte_timeout_ms = 60'000;
  int idle_timeout_ms = 60'000;
  int pool_max_idle_per_origin = 64;
  int pool_idle_ttl_ms = 60'000;
  std::size_t max_response_bytes = 64 * 1024 * 1024;
  // A PEM bundle of CAs trusted for every https:// upstream, besides the system's; empty: none.
  std::string ca_file;
};

// Requests that find every key at its limit wait in a FIFO queue rather than failing at once.
struct QueueConfig {
  int timeout_ms = 10'000;   // past this a queued request gets 429 with Retry-After; 0: no queue
  int max_waiting = 10'000;  // more waiting requests than this are refused at once
};

// How far one request may go to find an answer.
struct RetryConfig {
  // Other models a request for any model may move on to after its first model failed (the
  // keys tried within each model are bounded by that model's max_retries).
  int max_model_failovers = 2;
  // The whole request (queueing, every attempt, the streamed answer) must end within this,
  // so retries cannot stack timeouts. Per model: `total_timeout_ms`.
  int total_timeout_ms = 300'000;
  // A transient failure (5xx, a refused or reset connection, a timeout before the first
  // byte, a cut answer) before anything reached the client is retried on the same key when
  // no other key can take the request, after backoff_ms × 2^n (at most backoff_max_ms, with
  // jitter), within the model's max_retries and the deadline.
  int backoff_ms = 100;
  int backoff_max_ms = 2000;
};

// How a streamed answer is paced while the upstream is silent.
struct StreamConfig {
  // The response head and the role chunk are held until the first content (or reasoning, or
  // tool call), so an attempt that fails before it can still move to another key unseen by
  // the client; at most this long after the upstream's head, then they go out and failover
  // is over. 0: they go out at once.
  int hold_ms = 5'000;
  // After this long with no byte to the client, an SSE comment (`: keep-alive`) goes out on
  // /v1 streams, so clients and proxies that give up on a silent connection keep waiting
  // for a model that thinks or an upstream that queues. 0: never.
  int heartbeat_ms = 15'000;
  friend bool operator==(const StreamConfig&, const StreamConfig&) = default;
};

struct AdminConfig {
  // The seed's key-exposing endpoints (/llm/model-load, /llm/models, /llm/keys) answer 404
  // unless this is true; then they require the admin token, which the loader insists on.
  bool expose_keys = false;
  // The live dashboard (GET /dashboard and its data, GET /admin/dashboard) answers 404 unless
  // this is true; its data needs the admin token, which the loader insists on.
  bool dashboard = false;
  // When set, /admin/* and the key-exposing endpoints require `Authorization: Bearer <token>`.
  std::string token;
  // When set, /metrics requires `Authorization: Bearer <metrics_token>` (or the admin token);
  // empty: /metrics is open to whoever reaches the port.
  std::string metrics_token;
};

// A caller of the gateway: when any are configured, every /v1 and /llm call (health aside)
// needs `Authorization: Bearer <key>` with one of them.
struct ClientKeyConfig {
  std::string name;                 // shown in the access log; never the key
  std::string key;                  // the secret, after ${ENV} substitution
  std::vector<std::string> models;  // the models it may use; empty: every model
  int rpm = 0;                      // requests in any 60 s; 0: unlimited
  double weight = 1;   // its share of the admission queue against other waiting clients
  int max_queued = 0;  // its requests waiting for a free key at once; 0: no cap of its own
  // Budgets: its requests and tokens per UTC day and tokens per UTC month; 0: unlimited.
  std::int64_t requests_per_day = 0;
  std::int64_t tokens_per_day = 0;
  std::int64_t tokens_per_month = 0;
  int line = 0;
};

struct AuthConfig {
  std::vector<ClientKeyConfig> client_keys;  // empty: the API is open
};

struct LogConfig {
  // The access log: "off", "stdout", "stderr" or a file path. Off by default: stdout carries
  // only the "listening on" line unless asked for.
  std::string access = "off";
  // The application log (start, stop, reloads, warnings, failed requests): its least severe
  // level (error, warn, info, debug), its format (text or json: one JSON object a line), and
  // where it goes (empty: stderr; else a file, appended to and reopened on SIGHUP).
  std::string level = "info";
  std::string format = "text";
  std::string file;
};

// What /metrics shows.
struct MetricsConfig {
  // Series per key (the `key` label of the attempt, token, in-flight, load and state
  // families). false: one series per model, so a pool of thousands of keys does not flood
  // Prometheus; bc_key_state then counts the model's keys in each state.
  bool per_key = true;
  // A model of more keys than this gets per-model series even with per_key: thousands of
  // series per model flood Prometheus, and touching that many counters costs every request
  // cache misses (docs/benchmarks.md, scale in keys).
  int per_key_max_keys = 1000;
};

// The usage ledger (src/usage/): one SQLite record per finished request. Off when `path` is
// empty (no `usage:` section). Restart-only: a reload does not move the store.
struct UsageConfig {
  std::string path;         // the SQLite file; created with its folder's permissions
  int retention_days = 90;  // records and hourly rollups older than this are pruned
  int flush_ms = 1000;      // the writer's batch interval: what a kill -9 may lose at most
  int queue_size = 65536;   // records waiting for the writer; beyond it they are dropped
  bool operator==(const UsageConfig&) const = default;
};

struct Config {
  ServerConfig server;
  UpstreamConfig upstream;
  QueueConfig queue;
  RetryConfig retry;
  StreamConfig stream;
  BreakerConfig breaker;
  AdminConfig admin;
  AuthConfig auth;
  LogConfig log;
  MetricsConfig metrics;
  UsageConfig usage;
  StateConfig state;  // where the shared counters live: local or Redis
  // Names of the models that serve traffic; empty: every model under `models`.
  std::vector<std::string> enabled_models;
  std::vector<ModelConfig> models;  // in file order
  std::string source;               // file path, for messages

  const ModelConfig* find_model(std::string_view name) const;
  // The models that serve traffic, in file order.
  std::vector<const ModelConfig*> active_models() const;
};

}  // namespace bc::config
