// Reads the `models:` section: each model, its keys and breaker; the fields a provider owns are
// read by that provider (providers/model_options.h).
#include "config/models_section.h"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <optional>
#include <unordered_map>

#include "config/quota_fields.h"
#include "config/suggest.h"
#include "core/mask.h"
#include "providers/registry.h"

namespace bc::config {

using detail::Bounds;
using detail::contains;
using detail::Entry;
using detail::kNonNegative;
using detail::kPositive;
using detail::MapReader;
using detail::Reader;

namespace {

// The fields every model has; each provider adds its own (providers/registry.cpp).
const std::vector<std::string> kCommonModelKeys = {"provider",
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
                                                   "embeddings",
                                                   "connect_timeout_ms",
                                                   "first_byte_timeout_ms",
                                                   "idle_timeout_ms",
                                                   "total_timeout_ms",
                                                   "breaker",
                                                   "tls_verify",
                                                   "ca_file"};
const std::vector<std::string> kKeyKeys = {"key", "weight", "name"};
const std::vector<std::string> kBreakerKeys = {"failures", "window_ms", "open_ms"};

const std::vector<std::string>& model_keys() {
  static const std::vector<std::string> keys = [] {
    std::vector<std::string> all = kCommonModelKeys;
    for (const auto& p : providers::provider_table()) {
      if (p.options == nullptr) continue;
      for (const auto field : p.options->fields) all.emplace_back(field);
    }
    return all;
  }();
  return keys;
}

// The provider that owns model field `key`, or nullptr for a field every model has.
const providers::ProviderEntry* owner_of(std::string_view key) {
  for (const auto& p : providers::provider_table()) {
    if (p.options == nullptr) continue;
    for (const auto field : p.options->fields) {
      if (field == key) return &p;
    }
  }
  return nullptr;
}

std::string model_hint(std::string_view key) {
  if (contains(kKeyKeys, key)) return "it belongs in an 'api_keys' entry";
  for (const auto& p : providers::provider_table()) {
    if (p.options == nullptr || p.options->hint == nullptr) continue;
    if (std::string h = p.options->hint(key); !h.empty()) return h;
  }
  return {};
}

// A provider's view of a model's mapping (or of a mapping inside it) for reading its own
// fields: the loader's checks and messages, with file, line and field.
class YamlOptionReader final : public providers::OptionReader {
 public:
  YamlOptionReader(Reader& reader, MapReader& map) : reader_(reader), map_(map) {}
  YamlOptionReader(Reader& reader, std::unique_ptr<MapReader> owned)
      : reader_(reader), owned_(std::move(owned)), map_(*owned_) {}

  bool get(std::string_view key, bool& out) override { return map_.get(key, out); }
  bool get(std::string_view key, int& out, std::int64_t min, std::int64_t max) override {
    return map_.get(key, out, min, max);
  }
  bool get(std::string_view key, double& out, double min, bool min_exclusive) override {
    return map_.get(key, out, Bounds{min, min_exclusive});
  }
  bool get(std::string_view key, std::string& out, bool non_empty) override {
    return map_.get(key, out, non_empty);
  }
  std::unique_ptr<providers::OptionReader> mapping(
      std::string_view key, std::span<const std::string_view> known) override {
    const Entry* e = map_.find(key);
    if (e == nullptr) return nullptr;
    const std::vector<std::string> names(known.begin(), known.end());
    auto inner = std::make_unique<MapReader>(reader_, e->value, e->line, map_.field(key), names);
    if (!inner->ok()) return nullptr;
    return std::make_unique<YamlOptionReader>(reader_, std::move(inner));
  }

 private:
  Reader& reader_;
  std::unique_ptr<MapReader> owned_;
  MapReader& map_;
};

class ModelsReader {
 public:
  ModelsReader(Reader& reader, const BreakerConfig& defaults, const std::string& source,
               std::vector<ModelConfig>& out)
      : reader_(reader), defaults_(defaults), source_(source), out_(out) {}

  void read_models(const Entry& e) {
    if (!e.value.IsMap()) {
      reader_.diag().add(
          e.line, "models",
          "expected a mapping of model name to settings, got " + Reader::describe(e.value));
      return;
    }
    const auto entries = detail::entries_of(reader_, e.value, "models");
    if (entries.empty()) {
      reader_.diag().add(e.line, "models", "at least one model must be configured");
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
      reader_.diag().add(e.line, "models", "a model name must not be empty");
      return;
    }
    MapReader r(reader_, e.value, e.line, detail::join_path("models", m.name), model_keys(),
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
    if (r.get("embeddings", m.embeddings) && m.embeddings && m.supports_tools) {
      reader_.diag().add(r.find("supports_tools")->line, r.field("supports_tools"),
                         "an embedding model (embeddings: true) takes no tools; remove one");
    }
    r.get("connect_timeout_ms", m.connect_timeout_ms, 0);
    r.get("first_byte_timeout_ms", m.first_byte_timeout_ms, 0);
    r.get("idle_timeout_ms", m.idle_timeout_ms, 0);
    r.get("total_timeout_ms", m.total_timeout_ms, 0);
    m.breaker = defaults_;
    if (const Entry* b = r.find("breaker")) {
      read_breaker_section(reader_, *b, r.field("breaker"), m.breaker);
    }
    r.get("tls_verify", m.tls_verify);
    if (r.get("ca_file", m.ca_file)) {
      check_readable_file(reader_, r, "ca_file", source_, m.ca_file);
      if (!m.tls_verify) {
        reader_.diag().add(
            r.find("ca_file")->line, r.field("ca_file"),
            "has no effect with tls_verify: false (nothing is verified); remove one");
      }
    }
    read_keys(r, m);
    read_own_options(r, m);
    out_.push_back(std::move(m));
  }

  void check_base_url(MapReader& r, std::string& url) {
    const Entry* e = r.find("base_url");
    std::string_view rest;
    if (url.starts_with("http://")) {
      rest = std::string_view(url).substr(7);
    } else if (url.starts_with("https://")) {
      rest = std::string_view(url).substr(8);
    } else {
      reader_.diag().add(e->line, r.field("base_url"),
                         "must start with http:// or https://, got \"" + url + "\"");
      return;
    }
    if (rest.empty() || rest.front() == '/' ||
        rest.find_first_of(" \t\r\n") != std::string_view::npos) {
      reader_.diag().add(e->line, r.field("base_url"), "not a valid URL: \"" + url + "\"");
      return;
    }
    // Adapters append paths such as "/chat/completions".
    while (url.ends_with('/')) url.pop_back();
  }

  void read_keys(MapReader& r, ModelConfig& m) {
    const providers::ProviderEntry* p = providers::find_provider(m.provider);
    // A provider that needs no key (the mock) gets one placeholder named after it.
    const bool keyless = p != nullptr && !p->needs_keys;
    const Entry* e = r.find("api_keys");
    if (e == nullptr) {
      if (keyless) {
        m.api_keys.push_back(KeyConfig{m.provider, 1, m.provider, m.line});
      } else if (!m.provider.empty()) {
        r.missing("api_keys", "provider '" + m.provider + "' needs at least one key");
      }
      return;
    }
    const std::string path = r.field("api_keys");
    if (!e->value.IsSequence()) {
      reader_.diag().add(e->line, path,
                         "expected a list of keys, got " + Reader::describe(e->value));
      return;
    }
    if (e->value.size() == 0) {
      if (keyless) {
        m.api_keys.push_back(KeyConfig{m.provider, 1, m.provider, m.line});
      } else {
        reader_.diag().add(e->line, path, "must list at least one key");
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
          reader_.diag().add(line, item_path, std::move(*why));
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
      reader_.diag().add(
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

  // The fields a provider owns: another provider's are refused; the model's provider reads
  // and checks its own.
  void read_own_options(MapReader& r, ModelConfig& m) {
    if (m.provider.empty()) return;  // already reported
    for (const auto& field : model_keys()) {
      const providers::ProviderEntry* owner = owner_of(field);
      const Entry* e = owner != nullptr ? r.find(field) : nullptr;
      if (e == nullptr || owner->name == m.provider) continue;
      reader_.diag().add(e->line, r.field(field),
                         "only used by provider '" + std::string(owner->name) +
                             "' (this model's provider is '" + m.provider + "')");
    }
    const providers::ProviderEntry* p = providers::find_provider(m.provider);
    if (p == nullptr || p->options == nullptr) return;
    YamlOptionReader own(reader_, r);
    m.own_options = p->options->read(own);
  }

 private:
  Reader& reader_;
  const BreakerConfig& defaults_;
  const std::string& source_;
  std::vector<ModelConfig>& out_;
};

}  // namespace

void read_models_section(Reader& reader, const Entry& entry, const BreakerConfig& defaults,
                         const std::string& source, std::vector<ModelConfig>& out) {
  ModelsReader(reader, defaults, source, out).read_models(entry);
}

void read_enabled_models(detail::Reader& reader_, const Entry& e, const Entry* models_entry,
                         std::vector<std::string>& out) {
  if (!e.value.IsSequence()) {
    reader_.diag().add(e.line, "enabled_models",
                       "expected a list of model names, got " + Reader::describe(e.value));
    return;
  }
  if (e.value.size() == 0) {
    reader_.diag().add(e.line, "enabled_models",
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
    if (contains(out, *name)) {
      reader_.diag().add(line, path, "model '" + *name + "' is listed twice");
      continue;
    }
    if (models_entry != nullptr && !contains(names, *name)) {
      std::string message = "model '" + *name + "' is not configured under 'models'";
      if (auto near = closest_match(*name, names)) message += " (did you mean '" + *near + "'?)";
      reader_.diag().add(line, path, std::move(message));
      continue;
    }
    out.push_back(std::move(*name));
  }
}

void read_breaker_section(Reader& reader, const Entry& e, const std::string& path,
                          BreakerConfig& b) {
  MapReader m(reader, e.value, e.line, path, kBreakerKeys);
  if (!m.ok()) return;
  m.get("failures", b.failures, 0, 1000);
  m.get("window_ms", b.window_ms, 1);
  m.get("open_ms", b.open_ms, 1);
}

void check_readable_file(Reader& reader, MapReader& m, std::string_view key,
                         const std::string& source, std::string& file) {
  const std::filesystem::path p(file);
  if (p.is_relative()) {
    file = (std::filesystem::path(source).parent_path() / p).lexically_normal().string();
  }
  std::ifstream in(file, std::ios::binary);
  if (!in) {
    const int err = errno;
    reader.diag().add(m.find(key)->line, m.field(key),
                      "cannot read '" + file + "': " + (err != 0 ? std::strerror(err) : "unknown"));
  }
}

bool is_model_field(std::string_view key) {
  return contains(model_keys(), key);
}

}  // namespace bc::config
