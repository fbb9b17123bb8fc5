// Zhipu GLM v4: POST /api/paas/v4/chat/completions. Differs from OpenAI in
// the shapes only: no `object`, a `request_id`, every delta repeats the role, usage on the
// final chunk, and error bodies {"error":{"code":"1302","message":...}} with a string code.
#pragma once

#include "mockllm/wire_format.h"

namespace bc::mockllm {

const WireFormat& zhipu_format();

}  // namespace bc::mockllm
