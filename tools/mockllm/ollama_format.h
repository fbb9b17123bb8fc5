// Ollama native chat: POST /api/chat, no authentication (an optional bearer
// key steers the mock; without one the key is "ollama"). `stream` defaults to true; a stream is
// NDJSON (one object per line) ending with a line whose `done` is true and that carries the
// counts. A tool call is message.tool_calls with an arguments object. Errors: {"error":"..."}.
#pragma once

#include "mockllm/wire_format.h"

namespace bc::mockllm {

const WireFormat& ollama_format();

}  // namespace bc::mockllm
