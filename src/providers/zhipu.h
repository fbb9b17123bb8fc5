// Zhipu AI / BigModel GLM v4: OpenAI-like with a few differences, handled
// here and nowhere else. Authentication is the plain API key as a bearer token.
#pragma once

#include <memory>
#include <string_view>

#include "providers/provider.h"

namespace bc::providers {

inline constexpr std::string_view kZhipuBaseUrl = "https://open.bigmodel.cn/api/paas/v4";

std::unique_ptr<Provider> make_zhipu(ProviderOptions options);

}  // namespace bc::providers
