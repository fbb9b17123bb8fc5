// Anthropic Messages: POST /v1/messages with `x-api-key` and
// `anthropic-version`. Non-stream: a `message` with content blocks; stream: named SSE events
// message_start, content_block_start/delta/stop, message_delta, message_stop; a tool call is a
// tool_use block whose input streams as input_json_delta fragments. Errors:
// {"type":"error","error":{"type":...,"message":...}} (429 rate_limit_error, 529
// overloaded_error, ...), mid-stream as `event: error`. Every Message (and message_start's)
// carries `mock_request_keys`, the request's top-level field names, sorted: what reached the
// upstream, for tests of a gateway that passes requests through.
#pragma once

#include "mockllm/wire_format.h"

namespace bc::mockllm {

const WireFormat& anthropic_format();
// POST /v1/messages/count_tokens: the same request without max_tokens, answered with
// {"input_tokens": <the words of the system prompt and the messages' text>}; never streamed.
// Its key steers it as for /v1/messages (status, latency, ...).
const WireFormat& anthropic_count_tokens_format();

}  // namespace bc::mockllm
