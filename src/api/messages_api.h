// Anthropic's Messages API: POST /v1/messages (plain and streamed) and
// POST /v1/messages/count_tokens, served by every provider through the same forwarder as
// /v1/chat/completions. Thin: the translation is providers/anthropic_messages.h.
#pragma once

#include <string_view>

#include "api/router.h"
#include "gateway/forwarder.h"

namespace bc::api {

// Registers the Messages routes on `router`; `forwarder` must outlive it.
void add_messages_routes(Router& router, gateway::Forwarder& forwarder);

// Whether `path` is one of the Messages routes, whose errors (refusals before the handler
// too) take Anthropic's shape.
bool anthropic_dialect(std::string_view path);

}  // namespace bc::api
