// iFlytek Spark HTTP: POST /v1/chat/completions on spark-api-open, served
// here at /spark/v1/chat/completions, bearer APIPassword. OpenAI-like bodies plus `code`,
// `message` and `sid`; no id / finish_reason in the non-stream answer; stream chunks repeat the
// role, the last content chunk carries usage, then data: [DONE]. A tool call arrives whole in
// one chunk. Errors are a non-zero `code` at the top level ({"code":11202,"message","sid"}),
// also inside a stream.
#pragma once

#include "mockllm/wire_format.h"

namespace bc::mockllm {

const WireFormat& spark_format();

}  // namespace bc::mockllm
