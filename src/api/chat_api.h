// The chat endpoints of both dialects: OpenAI's /v1/chat/completions and /v1/models, and the
// seed's /llm/chat and /llm/chat/stream. Thin: parse, hand to the forwarder, render.
#pragma once

#include <optional>

#include "api/exchange.h"
#include "api/router.h"
#include "gateway/forwarder.h"

namespace bc::api {

// Who the call is from, for its share of the admission queue: its client key, or the one
// line every request without a key shares.
gateway::Caller caller_of(const ClientKey* client);
// Takes the call's token estimate from its client's budget (when client budgets are on); the
// refusal when the budget has no room.
std::optional<Error> take_budget(Exchange& writer, const ChatRequest& chat);
// The same for a call whose estimate is `tokens` (an embeddings call).
std::optional<Error> take_budget(Exchange& writer, std::int64_t tokens);

// Registers the chat routes on `router`; `forwarder` must outlive it.
void add_chat_routes(Router& router, gateway::Forwarder& forwarder);

}  // namespace bc::api
