// Baidu Qianfan v2: POST /v2/chat/completions, OpenAI-style with a bearer
// API key. Answers and streams are OpenAI's (ids "as-..."); errors are
// {"error":{"code","message","type"},"id"} with Qianfan's codes (429 rpm_rate_limit_exceeded,
// 401 invalid_iam_token, ...). With the `error_200` option an error comes with HTTP 200.
#pragma once

#include "mockllm/wire_format.h"

namespace bc::mockllm {

const WireFormat& baidu_v2_format();

}  // namespace bc::mockllm
