#include "config/loader.h"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <optional>
#include <sstream>

#include "config/demo_config.h"
#include "config/models_section.h"
#include "config/quota_fields.h"
#include "config/state_section.h"
#include "config/suggest.h"
#include "config/usage_section.h"
#include "config/yaml_reader.h"

namespace bc::config {

using detail::Bounds;
using detail::contains;
using detail::Entry;
using detail::kPositive;
using detail::MapReader;
using detail::Reader;

namespace {

const std::vector<std::string> kTopKeys = {
    "server", "upstream", "queue",   "retry",          "stream", "breaker", "admin",
    "auth",   "log",      "metrics", "enabled_models", "models", "usage",   "state"};
const std::vector<std::string> kRetryKeys = {"max_model_failovers", "total_timeout_ms",
                                             "backoff_ms", "backoff_max_ms"};
const std::vector<std::string> kStreamKeys = {"hold_ms", "heartbeat_ms"};
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

// An unknown top-level key that is a known key one level down was most likely put at the
// wrong indentation.
std::string top_level_hint(std::string_view key) {
  if (contains(kServerKeys, key)) return "it belongs under 'server'";
  if (contains(kUpstreamKeys, key)) return "it belongs under 'upstream'";
  if (is_model_field(key)) return "it belongs under 'models.<name>'";
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
    if (const Entry* e = top.find("breaker"))
      read_breaker_section(reader_, *e, "breaker", config_.breaker);
    if (const Entry* e = top.find("admin")) read_admin(*e);
    if (const Entry* e = top.find("models")) {
      read_models_section(reader_, *e, config_.breaker, config_.source, config_.models);
    } else {
      top.missing("models", "at least one model must be configured");
    }
    if (const Entry* e = top.find("enabled_models")) {
      read_enabled_models(reader_, *e, top.find("models"), config_.enabled_models);
    }
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
    if (cert) check_readable_file(reader_, m, "cert_file", config_.source, tls.cert_file);
    if (key) check_readable_file(reader_, m, "key_file", config_.source, tls.key_file);
    if (m.find("cert_file") == nullptr || m.find("key_file") == nullptr) {
      diag_.add(e.line, path,
                "needs both cert_file and key_file (remove 'tls' to serve plain HTTP)");
      tls = {};
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
    if (m.get("ca_file", u.ca_file)) {
      check_readable_file(reader_, m, "ca_file", config_.source, u.ca_file);
    }
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
