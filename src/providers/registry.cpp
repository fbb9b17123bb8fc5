// The table of providers, one row each, and the lookups over it.
#include "providers/registry.h"

#include "providers/anthropic.h"
#include "providers/baidu.h"
#include "providers/gemini.h"
#include "providers/mock.h"
#include "providers/ollama.h"
#include "providers/openai.h"
#include "providers/spark.h"
#include "providers/zhipu.h"

namespace bc::providers {

namespace {

// One row per provider: name, factory, whether it reads base_url, whether a model needs keys,
// its own options.
constexpr ProviderEntry kProviders[] = {
    {"mock", &make_mock, false, false, &kMockOptions},
    {"openai", &make_openai, true, true, nullptr},
    {"zhipu", &make_zhipu, true, true, &kZhipuOptions},
    {"anthropic", &make_anthropic, true, true, nullptr},
    {"gemini", &make_gemini, true, true, nullptr},
    {"ollama", &make_ollama, true, true, nullptr},
    {"baidu", &make_baidu, true, true, nullptr},
    {"spark", &make_spark, true, true, nullptr},
};

Error config_error(std::string message, std::string code) {
  Error e = Error::invalid_request(std::move(message), std::move(code));
  e.source = "config";
  return e;
}

}  // namespace

std::span<const ProviderEntry> provider_table() {
  return kProviders;
}

const ProviderEntry* find_provider(std::string_view name) {
  for (const auto& entry : kProviders) {
    if (entry.name == name) return &entry;
  }
  return nullptr;
}

Result<std::unique_ptr<Provider>> make_provider(std::string_view name, ProviderOptions options) {
  for (const auto& entry : kProviders) {
    if (entry.name != name) continue;
    const std::string_view url = options.base_url;
    if (entry.uses_base_url && !url.empty() && !url.starts_with("http://") &&
        !url.starts_with("https://")) {
      return config_error("base_url '" + options.base_url + "' must start with http:// or https://",
                          "invalid_base_url");
    }
    return entry.make(std::move(options));
  }
  std::string known;
  for (const auto& entry : kProviders) {
    if (!known.empty()) known += ", ";
    known += entry.name;
  }
  return config_error("unknown provider '" + std::string(name) + "' (known: " + known + ")",
                      "unknown_provider");
}

std::vector<std::string_view> provider_names() {
  std::vector<std::string_view> names;
  for (const auto& entry : kProviders) names.push_back(entry.name);
  return names;
}

}  // namespace bc::providers
