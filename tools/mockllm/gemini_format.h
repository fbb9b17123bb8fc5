// Google Gemini: POST /v1beta/models/<model>:generateContent and
// :streamGenerateContent?alt=sse, the key in `x-goog-api-key` or `?key=`. Responses carry
// candidates, finishReason and usageMetadata; a stream is `data:` events separated by CRLF CRLF,
// usage cumulative on every chunk, finishReason on the last, and no end marker (the body ends).
// A tool call is one functionCall part. Errors: Google RPC {"error":{"code","message","status",
// "details"}}; a 429 is RESOURCE_EXHAUSTED whose retry hint is RetryInfo.retryDelay (no header).
#pragma once

#include "mockllm/wire_format.h"

namespace bc::mockllm {

const WireFormat& gemini_format();

}  // namespace bc::mockllm
