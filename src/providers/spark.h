// iFlytek Spark, HTTP OpenAI-style endpoint. Authentication is
// `Authorization: Bearer <secret>` with the configured key sent as is: the model version's
// APIPassword, or `APIKey:APISecret` for services that take that form. Spark answers with an
// extra top-level `code` (non-zero: an error, even inside a 200 body or a stream chunk),
// leaves out `finish_reason`, and puts usage on the last content chunk; classification is by
// that code whatever the HTTP status.
#pragma once

#include <memory>
#include <string_view>

#include "providers/provider.h"

namespace bc::providers {

inline constexpr std::string_view kSparkBaseUrl = "https://spark-api-open.xf-yun.com/v1";

std::unique_ptr<Provider> make_spark(ProviderOptions options);

}  // namespace bc::providers
