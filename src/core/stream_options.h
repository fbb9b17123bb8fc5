// What the caller's `stream_options` ask of a streamed answer.
#pragma once

#include "core/chat.h"

namespace bc {

// `stream_options.include_usage` is true: the caller asked for OpenAI's usage chunk (and
// `"usage": null` on every other chunk). Only that member is parsed from a scanned request.
bool wants_usage_chunks(const ChatRequest& request);

}  // namespace bc
