// OpenAI Chat Completions (providers.md §2): POST /v1/chat/completions.
#pragma once

#include "mockllm/wire_format.h"

namespace bc::mockllm {

const WireFormat& openai_format();

}  // namespace bc::mockllm
