#include "config/loader.h"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <optional>
#include <sstream>
#include <unordered_map>

#include "config/demo_config.h"
#include "config/quota_fields.h"
#include "config/state_section.h"
#include "config/suggest.h"
#include "config/usage_section.h"
#include "config/yaml_reader.h"
#include "core/mask.h"

namespace bc::config {

using detail::Bounds;
using detail::Entry;
using detail::MapReader;
using detail::Reader;

namespace {

const std::vector<std::string> kTopKeys = {
    "server", "upstream", "queue",   "retry",          "stream", "breaker", "admin",
    "auth",   "log",      "metrics", "enabled_models", "models", "usage",   "state"};
const std::vector<std::string> kRetryKeys = {"max_model_failovers", "total_timeout_ms",
                                             "backoff_ms", "backoff_max_ms"};
const std::vector<std::string> kStreamKeys = {"hold_ms", "heartbeat_ms"};
const std::vector<std::string> kBreakerKeys = {"failures", "window_ms", "open_ms"};
const std::vector<std::string> kAuthKeys = {"client_keys"};
const std::vector<std::string> kClientKeyKeys = {"name",
                                                 "key",
                                                 "models",
                                                 "rpm",
                                                 "weight",
                                                 "max_queued",
                                                 "requests_per_day",
                                                 "tokens_per_day",
                                                 "tokens_per_month"};
const std::vector<std::string> kLogKeys = {"access", "level", "format", "file"};
const std::vector<std::string> kLogLevels = {"error", "warn", "info", "debug"};
const std::vector<std::string> kLogFormats = {"text", "json"};
// Long enough that guessing one over the network is hopeless; a short one is usually a
// placeholder left in by mistake.
constexpr std::size_t kMinSecretLength = 16;
const std::vector<std::string> kQueueKeys = {"timeout_ms", "max_waiting"};
const std::vector<std::string> kAdminKeys = {"expose_keys", "dashboard", "token", "metrics_token"};
const std::vector<std::string> kMetricsKeys = {"per_key", "per_key_max_keys"};
const std::vector<std::string> kServerKeys = {"host",
                                              "port",
                                              "threads",
                                              "max_body_bytes",
                                              "max_header_bytes",
                                              "max_connections",
                                              "max_body_bytes_in_flight",
                                              "read_timeout_ms",
                                              "write_timeout_ms",
                                              "idle_timeout_ms",
                                              "shutdown_grace_ms",
                                              "tls"};
const std::vector<std::string> kServerTlsKeys = {"cert_file", "key_file"};
const std::vector<std::string> kUpstreamKeys = {
    "connect_timeout_ms", "first_byte_timeout_ms", "idle_timeout_ms", "pool_max_idle_per_origin",
    "pool_idle_ttl_ms",   "max_response_bytes",    "ca_file"};
const std::vector<std::string> kModelKeys = {"provider",
                                             "model",
                                             "base_url",
                                             "api_keys",
                                             "model_weight",
                                             "strategy",
                                             "max_concurrency",
                                             "max_qps",
                                             "rpm",
                                             "tpm",
                                             "rpd",
                                             "tpd",
                                             "quota_reset_hour",
                                             "quota_time_zone",
                                             "decay_factor",
                                             "auto_weight",
                                             "cooldown_ms",
                                             "queue_timeout_ms",
                                             "default_temperature",
                                             "max_retries",
                                             "supports_tools",
                                             "jwt_auth",
                                             "connect_timeout_ms",
                                             "first_byte_timeout_ms",
                                             "idle_timeout_ms",
                                             "total_timeout_ms",
                                             "breaker",
                                             "tls_verify",
                                             "ca_file",
                                             "mock"};
const std::vector<std::string> kKeyKeys = {"key", "weight", "name"};
const std::vector<std::string> kMockKeys = {"latency_ms", "tokens_per_second", "reply"};

constexpr Bounds kPositive{0, true};
constexpr Bounds kNonNegative{0, false};
constexpr int kMaxInt = std::numeric_limits<int>::max();

bool contains(const std::vector<std::string>& v, std::string_view s) {
  return std::find(v.begin(), v.end(), s) != v.end();
}

// An unknown top-level key that is a known key one level down was most likely put at the
// wrong indentation.
std::string top_level_hint(std::string_view key) {
  if (contains(kServerKeys, key)) return "it belongs under 'server'";
  if (contains(kUpstreamKeys, key)) return "it belongs under 'upstream'";
  if (contains(kModelKeys, key)) return "it belongs under 'models.<name>'";
  return {};
}

std::string model_hint(std::string_view key) {
  if (contains(kKeyKeys, key)) return "it belongs in an 'api_keys' entry";
  if (contains(kMockKeys, key)) return "it belongs under 'mock'";
  return {};
}

class Loader {
 public:
  Loader(std::string source, const EnvLookup& env) : diag_(source), reader_(diag_, env) {
    config_.source = std::move(source);
  }

  Config load(std::string_view yaml) {
    std::vector<YAML::Node> docs;
    try {
      docs = YAML::LoadAll(std::string(yaml));
    } catch (const YAML::Exception& e) {
      diag_.add(e.mark.line < 0 ? 0 : e.mark.line + 1, "(syntax)", e.msg);
      throw ConfigError(diag_.sorted());
    }
    if (docs.size() > 1) {
      diag_.add(detail::line_of(docs[1]), "(document)",
                "the file holds more than one YAML document; a config is one document");
    }
    if (docs.empty() || docs[0].IsNull()) {
      diag_.add(1, "(document)", "the file is empty; at least 'models' must be configured");
    } else {
      read_top(docs[0]);
    }
    if (!diag_.empty()) throw ConfigError(diag_.sorted());
    return std::move(config_);
  }

 private:
  void read_top(const YAML::Node& root) {
    MapReader top(reader_, root, std::max(1, detail::line_of(root)), "", kTopKeys, top_level_hint);
    if (!top.ok()) return;
    if (const Entry* e = top.find("server")) read_server(*e);
    if (const Entry* e = top.find("upstream")) read_upstream(*e);
    if (const Entry* e = top.find("queue")) read_queue(*e);
    if (const Entry* e = top.find("retry")) read_retry(*e);
    if (const Entry* e = top.find("stream")) {
      MapReader m(reader_, e->value, e->line, "stream", kStreamKeys);
      if (m.ok()) {
        m.get("hold_ms", config_.stream.hold_ms, 0, 600'000);
        m.get("heartbeat_ms", config_.stream.heartbeat_ms, 0, 600'000);
      }
    }
    // Before the models: they start from the global breaker settings.
    if (const Entry* e = top.find("breaker")) read_breaker(*e, "breaker", config_.breaker);
    if (const Entry* e = top.find("admin")) read_admin(*e);
    if (const Entry* e = top.find("models")) {
      read_models(*e);
    } else {
      top.missing("models", "at least one model must be configured");
    }
    if (const Entry* e = top.find("enabled_models")) read_enabled(*e, top.find("models"));
    if (const Entry* e = top.find("auth")) read_auth(*e);
    if (const Entry* e = top.find("log")) read_log(*e);
    if (const Entry* e = top.find("metrics")) {
      MapReader m(reader_, e->value, e->line, "metrics", kMetricsKeys);
      if (m.ok()) {
        m.get("per_key", config_.metrics.per_key);
        m.get("per_key_max_keys", config_.metrics.per_key_max_keys, 1);
      }
    }
    if (const Entry* e = top.find("usage")) read_usage_section(reader_, *e, config_.usage);
    if (const Entry* e = top.find("state")) detail::read_state_section(reader_, *e, config_.state);
  }

  void read_log(const Entry& e) {
    MapReader m(reader_, e.value, e.line, "log", kLogKeys);
    if (!m.ok()) return;
    m.get("access", config_.log.access);
    m.get_choice("level", kLogLevels, config_.log.level);
    m.get_choice("format", kLogFormats, config_.log.format);
    if (m.find("file") != nullptr) m.get("file", config_.log.file);
  }

  // Secrets the gateway checks callers against must not be guessable.
  void require_long_secret(int line, const std::string& field, const std::string& secret) {
    if (secret.size() < kMinSecretLength) {
      diag_.add(line, field,
                "is " + std::to_string(secret.size()) + " characters; at least " +
                    std::to_string(kMinSecretLength) + " are required (e.g. openssl rand -hex 16)");
    }
  }

  void read_auth(const Entry& e) {
    MapReader m(reader_, e.value, e.line, "auth", kAuthKeys);
    if (!m.ok()) return;
    const Entry* keys = m.find("client_keys");
    if (keys == nullptr) return;
    const std::string path = m.field("client_keys");
    if (!keys->value.IsSequence()) {
      diag_.add(keys->line, path,
                "expected a list of client keys, got " + Reader::describe(keys->value));
      return;
    }
    std::vector<std::string> model_names;
    for (const auto& model : config_.models) model_names.push_back(model.name);
    auto& clients = config_.auth.client_keys;
    for (std::size_t i = 0; i < keys->value.size(); ++i) {
      const YAML::Node item = keys->value[i];
      const std::string item_path = path + "[" + std::to_string(i) + "]";
      const int line = item.IsNull() ? keys->line : std::max(detail::line_of(item), keys->line);
      MapReader r(reader_, item, line, item_path, kClientKeyKeys);
      if (!r.ok()) continue;
      ClientKeyConfig c;
      c.line = line;
      bool ok = true;
      for (const char* required : {"name", "key"}) {
        if (r.find(required) == nullptr) {
          r.missing(required);
          ok = false;
        }
      }
      ok = r.get("name", c.name) && ok;
      ok = r.get("key", c.key) && ok;
      if (r.find("key") != nullptr && !c.key.empty()) {
        require_long_secret(r.find("key")->line, r.field("key"), c.key);
      }
      if (r.find("rpm") != nullptr) ok = r.get("rpm", c.rpm, 0) && ok;
      if (r.find("weight") != nullptr) ok = r.get("weight", c.weight, kPositive) && ok;
      if (r.find("max_queued") != nullptr) ok = r.get("max_queued", c.max_queued, 0) && ok;
      ok = read_budget_fields(reader_, r, c) && ok;
      if (const Entry* models = r.find("models")) {
        ok = read_client_models(*models, r.field("models"), model_names, c.models) && ok;
      }
      if (!ok) continue;
      for (const auto& other : clients) {
        const std::string where =
            " (also " + path + " entry on line " + std::to_string(other.line) + ")";
        if (other.name == c.name) {
          diag_.add(line, item_path, "duplicate client name '" + c.name + "'" + where);
          ok = false;
        } else if (other.key == c.key) {
          diag_.add(line, item_path, "the same key as another client" + where);
          ok = false;
        }
      }
      if (ok) clients.push_back(std::move(c));
    }
  }

  bool read_client_models(const Entry& e, const std::string& path,
                          const std::vector<std::string>& known, std::vector<std::string>& out) {
    if (!e.value.IsSequence() || e.value.size() == 0) {
      diag_.add(e.line, path,
                "expected a non-empty list of model names (omit it to allow every model), got " +
                    Reader::describe(e.value));
      return false;
    }
    bool ok = true;
    for (std::size_t i = 0; i < e.value.size(); ++i) {
      const YAML::Node item = e.value[i];
      const std::string item_path = path + "[" + std::to_string(i) + "]";
      const int line = item.IsNull() ? e.line : std::max(detail::line_of(item), e.line);
      auto name = reader_.string(item, line, item_path, true);
      if (!name) {
        ok = false;
        continue;
      }
      if (!contains(known, *name)) {
        std::string message = "model '" + *name + "' is not configured under 'models'";
        if (auto near = closest_match(*name, known)) message += " (did you mean '" + *near + "'?)";
        diag_.add(line, item_path, std::move(message));
        ok = false;
        continue;
      }
      out.push_back(std::move(*name));
    }
    return ok;
  }

  void read_server(const Entry& e) {
    MapReader m(reader_, e.value, e.line, "server", kServerKeys);
    if (!m.ok()) return;
    ServerConfig& s = config_.server;
    m.get("host", s.host);
    m.get("port", s.port, 0, 65535);
    m.get("threads", s.threads, 0, 1024);
    m.get_size("max_body_bytes", s.max_body_bytes);
    m.get_size("max_header_bytes", s.max_header_bytes, 1024);
    m.get("max_connections", s.max_connections, 0);
    m.get_size("max_body_bytes_in_flight", s.max_body_bytes_in_flight, 0);
    m.get("read_timeout_ms", s.read_timeout_ms, 1);
    m.get("write_timeout_ms", s.write_timeout_ms, 1);
    m.get("idle_timeout_ms", s.idle_timeout_ms, 1);
    m.get("shutdown_grace_ms", s.shutdown_grace_ms, 0);
    if (const Entry* tls = m.find("tls")) read_server_tls(*tls, m.field("tls"));
  }

  void read_server_tls(const Entry& e, const std::string& path) {
    MapReader m(reader_, e.value, e.line, path, kServerTlsKeys);
    if (!m.ok()) return;
    ServerTlsConfig& tls = config_.server.tls;
    const bool cert = m.get("cert_file", tls.cert_file);
    const bool key = m.get("key_file", tls.key_file);
    if (cert) check_readable(m, "cert_file", tls.cert_file);
    if (key) check_readable(m, "key_file", tls.key_file);
    if (m.find("cert_file") == nullptr || m.find("key_file") == nullptr) {
      diag_.add(e.line, path,
                "needs both cert_file and key_file (remove 'tls' to serve plain HTTP)");
      tls = {};
    }
  }

  // Resolves a relative path against the config file's folder and reports a file that cannot
  // be opened for reading; what it holds is checked where it is used (at startup).
  void check_readable(MapReader& m, std::string_view key, std::string& file) {
    const std::filesystem::path p(file);
    if (p.is_relative()) {
      file = (std::filesystem::path(config_.source).parent_path() / p).lexically_normal().string();
    }
    std::ifstream in(file, std::ios::binary);
    if (!in) {
      const int err = errno;
      diag_.add(m.find(key)->line, m.field(key),
                "cannot read '" + file + "': " + (err != 0 ? std::strerror(err) : "unknown"));
    }
  }

  void read_upstream(const Entry& e) {
    MapReader m(reader_, e.value, e.line, "upstream", kUpstreamKeys);
    if (!m.ok()) return;
    UpstreamConfig& u = config_.upstream;
    m.get("connect_timeout_ms", u.connect_timeout_ms, 1);
    m.get("first_byte_timeout_ms", u.first_byte_timeout_ms, 1);
    m.get("idle_timeout_ms", u.idle_timeout_ms, 1);
    m.get("pool_max_idle_per_origin", u.pool_max_idle_per_origin, 0);
    m.get("pool_idle_ttl_ms", u.pool_idle_ttl_ms, 1);
    m.get_size("max_response_bytes", u.max_response_bytes);
    if (m.get("ca_file", u.ca_file)) check_readable(m, "ca_file", u.ca_file);
  }

  void read_queue(const Entry& e) {
    MapReader m(reader_, e.value, e.line, "queue", kQueueKeys);
    if (!m.ok()) return;
    m.get("timeout_ms", config_.queue.timeout_ms, 0);
    m.get("max_waiting", config_.queue.max_waiting, 0);
  }

  void read_retry(const Entry& e) {
    MapReader m(reader_, e.value, e.line, "retry", kRetryKeys);
    if (!m.ok()) return;
    m.get("max_model_failovers", config_.retry.max_model_failovers, 0, 10);
    m.get("total_timeout_ms", config_.retry.total_timeout_ms, 1);
    m.get("backoff_ms", config_.retry.backoff_ms, 0, 60'000);
    m.get("backoff_max_ms", config_.retry.backoff_max_ms, 0, 600'000);
    if (config_.retry.backoff_max_ms < config_.retry.backoff_ms && m.find("backoff_max_ms")) {
      diag_.add(
          m.find("backoff_max_ms")->line, "retry.backoff_max_ms",
          "must be at least retry.backoff_ms (" + std::to_string(config_.retry.backoff_ms) + ")");
    }
  }

  void read_breaker(const Entry& e, const std::string& path, BreakerConfig& b) {
    MapReader m(reader_, e.value, e.line, path, kBreakerKeys);
    if (!m.ok()) return;
    m.get("failures", b.failures, 0, 1000);
    m.get("window_ms", b.window_ms, 1);
    m.get("open_ms", b.open_ms, 1);
  }

  void read_admin(const Entry& e) {
    MapReader m(reader_, e.value, e.line, "admin", kAdminKeys);
    if (!m.ok()) return;
    m.get("expose_keys", config_.admin.expose_keys);
    if (m.find("token") != nullptr && m.get("token", config_.admin.token)) {
      require_long_secret(m.find("token")->line, m.field("token"), config_.admin.token);
    }
    if (m.find("metrics_token") != nullptr) m.get("metrics_token", config_.admin.metrics_token);
    // Raw upstream keys to whoever asks: never without a token to ask with. (An empty token
    // is refused above, so a token that failed to load is not "no token" here.)
    if (config_.admin.expose_keys && m.find("token") == nullptr) {
      diag_.add(m.find("expose_keys")->line, m.field("expose_keys"),
                "true needs admin.token: the key-exposing endpoints show raw upstream keys and "
                "must be guarded by the admin token");
    }
    m.get("dashboard", config_.admin.dashboard);
    if (config_.admin.dashboard && m.find("token") == nullptr) {
      diag_.add(m.find("dashboard")->line, m.field("dashboard"),
                "true needs admin.token: the dashboard's data and actions are guarded by the "
                "admin token");
    }
  }

  void read_models(const Entry& e) {
    if (!e.value.IsMap()) {
      diag_.add(e.line, "models",
                "expected a mapping of model name to settings, got " + Reader::describe(e.value));
      return;
    }
    const auto entries = detail::entries_of(reader_, e.value, "models");
    if (entries.empty()) {
      diag_.add(e.line, "models", "at least one model must be configured");
      return;
    }
    for (const auto& m : entries) read_model(m);
  }

  void read_model(const Entry& e) {
    ModelConfig m;
    m.name = e.key;
    m.model = e.key;
    m.line = e.line;
    if (m.name.empty()) {
      diag_.add(e.line, "models", "a model name must not be empty");
      return;
    }
    MapReader r(reader_, e.value, e.line, detail::join_path("models", m.name), kModelKeys,
                model_hint);
    if (!r.ok()) return;
    if (r.find("provider") == nullptr) {
      r.missing("provider");
    } else {
      r.get("provider", m.provider);
    }
    r.get("model", m.model);
    if (r.get("base_url", m.base_url)) check_base_url(r, m.base_url);
    r.get("model_weight", m.model_weight, kPositive);
    r.get("strategy", m.strategy);
    r.get("max_concurrency", m.max_concurrency, 0);
    r.get("max_qps", m.max_qps, kNonNegative);
    r.get("rpm", m.rpm, 0);
    r.get("tpm", m.tpm, 0);
    read_quota_fields(reader_, r, m);
    r.get("decay_factor", m.decay_factor, Bounds{0, true, 1, true});
    r.get("auto_weight", m.auto_weight);
    r.get("cooldown_ms", m.cooldown_ms, 0);
    r.get("queue_timeout_ms", m.queue_timeout_ms, 0);
    double temperature = 0;
    if (r.get("default_temperature", temperature, Bounds{0, false, 2})) {
      m.default_temperature = temperature;
    }
    r.get("max_retries", m.max_retries, 0, 10);
    r.get("supports_tools", m.supports_tools);
    r.get("jwt_auth", m.jwt_auth);
    r.get("connect_timeout_ms", m.connect_timeout_ms, 0);
    r.get("first_byte_timeout_ms", m.first_byte_timeout_ms, 0);
    r.get("idle_timeout_ms", m.idle_timeout_ms, 0);
    r.get("total_timeout_ms", m.total_timeout_ms, 0);
    m.breaker = config_.breaker;
    if (const Entry* b = r.find("breaker")) read_breaker(*b, r.field("breaker"), m.breaker);
    r.get("tls_verify", m.tls_verify);
    if (r.get("ca_file", m.ca_file)) {
      check_readable(r, "ca_file", m.ca_file);
      if (!m.tls_verify) {
        diag_.add(r.find("ca_file")->line, r.field("ca_file"),
                  "has no effect with tls_verify: false (nothing is verified); remove one");
      }
    }
    read_keys(r, m);
    if (const Entry* mock = r.find("mock")) read_mock(r, *mock, m);
    config_.models.push_back(std::move(m));
  }

  void check_base_url(MapReader& r, std::string& url) {
    const Entry* e = r.find("base_url");
    std::string_view rest;
    if (url.starts_with("http://")) {
      rest = std::string_view(url).substr(7);
    } else if (url.starts_with("https://")) {
      rest = std::string_view(url).substr(8);
    } else {
      diag_.add(e->line, r.field("base_url"),
                "must start with http:// or https://, got \"" + url + "\"");
      return;
    }
    if (rest.empty() || rest.front() == '/' ||
        rest.find_first_of(" \t\r\n") != std::string_view::npos) {
      diag_.add(e->line, r.field("base_url"), "not a valid URL: \"" + url + "\"");
      return;
    }
    // Adapters append paths such as "/chat/completions".
    while (url.ends_with('/')) url.pop_back();
  }

  void read_keys(MapReader& r, ModelConfig& m) {
    const bool is_mock = m.provider == "mock";
    const Entry* e = r.find("api_keys");
    if (e == nullptr) {
      if (is_mock) {
        m.api_keys.push_back(KeyConfig{"mock", 1, "mock", m.line});
      } else if (!m.provider.empty()) {
        r.missing("api_keys", "provider '" + m.provider + "' needs at least one key");
      }
      return;
    }
    const std::string path = r.field("api_keys");
    if (!e->value.IsSequence()) {
      diag_.add(e->line, path, "expected a list of keys, got " + Reader::describe(e->value));
      return;
    }
    if (e->value.size() == 0) {
      if (is_mock) {
        m.api_keys.push_back(KeyConfig{"mock", 1, "mock", m.line});
      } else {
        diag_.add(e->line, path, "must list at least one key");
      }
      return;
    }
    // Index in the file of each key read, for messages about duplicates; the keys read so far
    // by secret and by public id, so a model of 10,000 keys loads in O(keys).
    std::vector<std::size_t> index;
    std::unordered_map<std::string, std::size_t> by_secret;
    std::unordered_map<std::string, std::size_t> by_id;
    for (std::size_t i = 0; i < e->value.size(); ++i) {
      const YAML::Node item = e->value[i];
      const std::string item_path = path + "[" + std::to_string(i) + "]";
      // yaml-cpp marks an empty item at the token after it; the list's line is closer.
      const int line = item.IsNull() ? e->line : std::max(detail::line_of(item), e->line);
      auto k = read_key(item, line, item_path);
      if (!k) continue;
      std::string id = k->name.empty() ? mask_secret(k->key) : k->name;
      std::optional<std::size_t> clash;
      if (const auto it = by_secret.find(k->key); it != by_secret.end()) {
        clash = it->second;
      } else if (const auto same_id = by_id.find(id); same_id != by_id.end()) {
        clash = same_id->second;
      }
      if (clash) {
        const std::size_t j = *clash;
        const std::string other = "api_keys[" + std::to_string(index[j]) + "] on line " +
                                  std::to_string(m.api_keys[j].line);
        if (auto why = duplicate(m.api_keys[j], *k, other)) {
          diag_.add(line, item_path, std::move(*why));
          continue;
        }
      }
      by_secret.emplace(k->key, m.api_keys.size());
      by_id.emplace(std::move(id), m.api_keys.size());
      m.api_keys.push_back(std::move(*k));
      index.push_back(i);
    }
  }

  // Why key `b` cannot be configured beside key `a` (described as `other`), if it cannot.
  static std::optional<std::string> duplicate(const KeyConfig& a, const KeyConfig& b,
                                              const std::string& other) {
    if (a.key == b.key) return "the same key as " + other;
    const std::string id_a = a.name.empty() ? mask_secret(a.key) : a.name;
    const std::string id_b = b.name.empty() ? mask_secret(b.key) : b.name;
    if (id_a != id_b) return std::nullopt;
    if (!b.name.empty()) return "duplicate key name '" + b.name + "' (also " + other + ")";
    // Unnamed keys are known by their masked form; two that mask alike would share an id in
    // metrics and reports.
    return "key id '" + id_b + "' (the masked key) is also the id of " + other +
           "; give the keys distinct names";
  }

  std::optional<KeyConfig> read_key(const YAML::Node& item, int line, const std::string& path) {
    KeyConfig k;
    k.line = line;
    if (item.IsScalar()) {  // the seed's style: a bare key with weight 1
      auto v = reader_.string(item, line, path, true);
      if (!v) return std::nullopt;
      k.key = std::move(*v);
      return k;
    }
    if (!item.IsMap()) {
      diag_.add(
          line, path,
          "expected a key (a string, or a mapping with 'key'), got " + Reader::describe(item));
      return std::nullopt;
    }
    MapReader r(reader_, item, line, path, kKeyKeys);
    bool ok = true;
    if (r.find("key") == nullptr) {
      r.missing("key");
      ok = false;
    } else {
      ok = r.get("key", k.key);
    }
    if (r.find("weight") != nullptr) ok = r.get("weight", k.weight, kPositive) && ok;
    if (r.find("name") != nullptr) ok = r.get("name", k.name) && ok;
    if (!ok) return std::nullopt;
    return k;
  }

  void read_mock(MapReader& model, const Entry& e, ModelConfig& m) {
    const std::string path = model.field("mock");
    if (!m.provider.empty() && m.provider != "mock") {
      diag_.add(e.line, path,
                "only used by provider 'mock' (this model's provider is '" + m.provider + "')");
      return;
    }
    MapReader r(reader_, e.value, e.line, path, kMockKeys);
    if (!r.ok()) return;
    r.get("latency_ms", m.mock.latency_ms, 0);
    r.get("tokens_per_second", m.mock.tokens_per_second, kPositive);
    r.get("reply", m.mock.reply, false);
  }

  void read_enabled(const Entry& e, const Entry* models_entry) {
    if (!e.value.IsSequence()) {
      diag_.add(e.line, "enabled_models",
                "expected a list of model names, got " + Reader::describe(e.value));
      return;
    }
    if (e.value.size() == 0) {
      diag_.add(e.line, "enabled_models",
                "lists no model; remove it to enable every model under 'models'");
      return;
    }
    std::vector<std::string> names;
    if (models_entry != nullptr && models_entry->value.IsMap()) {
      for (const auto& kv : models_entry->value) {
        if (kv.first.IsScalar()) names.push_back(kv.first.Scalar());
      }
    }
    for (std::size_t i = 0; i < e.value.size(); ++i) {
      const YAML::Node item = e.value[i];
      const std::string path = "enabled_models[" + std::to_string(i) + "]";
      const int line = item.IsNull() ? e.line : std::max(detail::line_of(item), e.line);
      auto name = reader_.string(item, line, path, true);
      if (!name) continue;
      if (contains(config_.enabled_models, *name)) {
        diag_.add(line, path, "model '" + *name + "' is listed twice");
        continue;
      }
      if (models_entry != nullptr && !contains(names, *name)) {
        std::string message = "model '" + *name + "' is not configured under 'models'";
        if (auto near = closest_match(*name, names)) message += " (did you mean '" + *near + "'?)";
        diag_.add(line, path, std::move(message));
        continue;
      }
      config_.enabled_models.push_back(std::move(*name));
    }
  }

  detail::Diagnostics diag_;
  Reader reader_;
  Config config_;
};

}  // namespace

std::string ConfigIssue::to_string() const {
  std::string out = file;
  if (line > 0) out += ":" + std::to_string(line);
  out += ": ";
  if (!path.empty()) out += path + ": ";
  out += message;
  return out;
}

namespace {

std::string join_issues(const std::vector<ConfigIssue>& issues) {
  std::string out;
  for (const auto& i : issues) {
    if (!out.empty()) out += '\n';
    out += i.to_string();
  }
  return out;
}

}  // namespace

ConfigError::ConfigError(std::vector<ConfigIssue> issues)
    : std::runtime_error(join_issues(issues)), issues_(std::move(issues)) {}

Config load_config_text(std::string_view yaml, std::string source_name, const EnvLookup& env) {
  return Loader(std::move(source_name), env).load(yaml);
}

Config load_config_text(std::string_view yaml, std::string source_name) {
  return load_config_text(yaml, std::move(source_name), process_env());
}

Config load_config_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    const int err = errno;
    throw ConfigError({ConfigIssue{
        path, 0, "",
        std::string("cannot read the file: ") + (err != 0 ? std::strerror(err) : "unknown")}});
  }
  std::ostringstream text;
  text << in.rdbuf();
  return load_config_text(text.str(), path);
}

Config load_demo_config() {
  return load_config_text(demo_config_yaml(), std::string(kDemoConfigName));
}

}  // namespace bc::config
