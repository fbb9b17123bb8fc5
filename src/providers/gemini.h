// Google Gemini API: POST {base_url}/models/{model}:generateContent, or
// :streamGenerateContent?alt=sse, with the key in x-goog-api-key. Roles become user/model,
// the system prompt `systemInstruction`, tool calls and results functionCall /
// functionResponse parts; the stream has no end marker, it ends when the connection closes
// after a chunk with a finishReason.
//
// Gemini gives function calls no id (older models) and wants each call's thoughtSignature
// back in the next turn. Tool call ids the gateway makes up start with "call_"; an id the
// upstream gave is kept as is and sent back. A thoughtSignature travels inside the id, after
// "__thought__", so that a client that echoes the id returns it without knowing.
#pragma once

#include <memory>
#include <string_view>

#include "providers/provider.h"

namespace bc::providers {

inline constexpr std::string_view kGeminiBaseUrl =
    "https://generativelanguage.googleapis.com/v1beta";

std::unique_ptr<Provider> make_gemini(ProviderOptions options);

}  // namespace bc::providers
