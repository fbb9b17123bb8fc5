// Config name -> provider adapter. One table line per provider in registry.cpp.
#pragma once

#include <memory>
#include <span>
#include <string_view>
#include <vector>

#include "core/result.h"
#include "providers/model_options.h"
#include "providers/provider.h"

namespace bc::providers {

// One provider as the config knows it.
struct ProviderEntry {
  std::string_view name;
  std::unique_ptr<Provider> (*make)(ProviderOptions);
  bool uses_base_url;
  // false: a model configured without api_keys gets one placeholder key (the mock).
  bool needs_keys;
  // The fields of a model's mapping it owns (model_options.h); nullptr: none.
  const OptionsSpec* options;
};

// Every provider, in table order.
std::span<const ProviderEntry> provider_table();

// The entry named `name`, or nullptr.
const ProviderEntry* find_provider(std::string_view name);

// The adapter named `name` for one configured model. Errors: an unknown name (the message
// lists the known ones), a base_url that is not http:// or https://.
Result<std::unique_ptr<Provider>> make_provider(std::string_view name, ProviderOptions options);

// The known provider names, in table order.
std::vector<std::string_view> provider_names();

}  // namespace bc::providers
