// Anthropic Messages API: POST {base_url}/messages with x-api-key and
// anthropic-version. The system prompt moves to the top-level `system`, tool calls and
// results become tool_use / tool_result blocks, `max_tokens` is always sent (it is required
// upstream), and the event stream (message_start … message_stop) becomes OpenAI chunks.
#pragma once

#include <cstdint>
#include <memory>
#include <string_view>

#include "providers/provider.h"

namespace bc::providers {

inline constexpr std::string_view kAnthropicBaseUrl = "https://api.anthropic.com/v1";
inline constexpr std::string_view kAnthropicVersion = "2023-06-01";
// Sent when the caller gave no max_tokens / max_completion_tokens.
inline constexpr std::int64_t kAnthropicDefaultMaxTokens = 4096;

std::unique_ptr<Provider> make_anthropic(ProviderOptions options);

}  // namespace bc::providers
