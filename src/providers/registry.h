// Config name -> provider adapter. One table line per provider in registry.cpp.
#pragma once

#include <memory>
#include <string_view>
#include <vector>

#include "core/result.h"
#include "providers/provider.h"

namespace bc::providers {

// The adapter named `name` for one configured model. Errors: an unknown name (the message
// lists the known ones), a base_url that is not http:// or https://.
Result<std::unique_ptr<Provider>> make_provider(std::string_view name, ProviderOptions options);

// The known provider names, in table order.
std::vector<std::string_view> provider_names();

}  // namespace bc::providers
