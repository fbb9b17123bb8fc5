// Zhipu AI / BigModel GLM v4: OpenAI-like with a few differences, handled
// here and nowhere else. Authentication is the plain API key as a bearer token.
#pragma once

#include <memory>
#include <string_view>

#include "providers/model_options.h"
#include "providers/provider.h"

namespace bc::providers {

inline constexpr std::string_view kZhipuBaseUrl = "https://open.bigmodel.cn/api/paas/v4";

// A Zhipu model's own fields (ProviderOptions::own_options).
struct ZhipuOptions {
  // Sign each request with a short-lived HS256 JWT made from an `id.secret` key instead of
  // sending the key itself (Zhipu's older scheme, still accepted).
  bool jwt_auth = false;
};
extern const OptionsSpec kZhipuOptions;

std::unique_ptr<Provider> make_zhipu(ProviderOptions options);

}  // namespace bc::providers
