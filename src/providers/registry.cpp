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

struct Entry {
  std::string_view name;
  std::unique_ptr<Provider> (*make)(ProviderOptions);
  bool uses_base_url;
};

constexpr Entry kProviders[] = {
    {"mock", &make_mock, false},    {"openai", &make_openai, true},
    {"zhipu", &make_zhipu, true},   {"anthropic", &make_anthropic, true},
    {"gemini", &make_gemini, true}, {"ollama", &make_ollama, true},
    {"baidu", &make_baidu, true},   {"spark", &make_spark, true},
};

Error config_error(std::string message, std::string code) {
  Error e = Error::invalid_request(std::move(message), std::move(code));
  e.source = "config";
  return e;
}

}  // namespace

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
