// Ollama's native chat API: POST {base_url}/api/chat, no authentication (a
// bearer token when a key is configured, for a proxy in front). Sampling settings go under
// `options`, images as base64 `images`, tool results as `tool` messages with `tool_name`; the
// stream is NDJSON ending with a line whose `done` is true. The OpenAI-compatible endpoint
// (/v1) needs no adapter: use provider `openai` with base_url http://host:11434/v1.
//
// The worked example of docs/adding-a-provider.md.
#pragma once

#include <memory>
#include <string_view>

#include "providers/provider.h"

namespace bc::providers {

inline constexpr std::string_view kOllamaBaseUrl = "http://127.0.0.1:11434";

std::unique_ptr<Provider> make_ollama(ProviderOptions options);

}  // namespace bc::providers
