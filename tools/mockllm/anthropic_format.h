// Anthropic Messages: POST /v1/messages with `x-api-key` and
// `anthropic-version`. Non-stream: a `message` with content blocks; stream: named SSE events
// message_start, content_block_start/delta/stop, message_delta, message_stop; a tool call is a
// tool_use block whose input streams as input_json_delta fragments. Errors:
// {"type":"error","error":{"type":...,"message":...}} (429 rate_limit_error, 529
// overloaded_error, ...), mid-stream as `event: error`.
#pragma once

#include "mockllm/wire_format.h"

namespace bc::mockllm {

const WireFormat& anthropic_format();

}  // namespace bc::mockllm
