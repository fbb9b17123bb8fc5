// The chat endpoints of both dialects: OpenAI's /v1/chat/completions and /v1/models, and the
// seed's /llm/chat and /llm/chat/stream. Thin: parse, hand to the forwarder, render.
#pragma once

#include "api/router.h"
#include "gateway/forwarder.h"

namespace bc::api {

// Registers the chat routes on `router`; `forwarder` must outlive it.
void add_chat_routes(Router& router, gateway::Forwarder& forwarder);

}  // namespace bc::api
