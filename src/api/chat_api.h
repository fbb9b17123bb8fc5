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
// `answer` (not started yet), after the same take from the client's budgets in Redis when
// the state is shared (api/client_budgets.h take_shared_budget); over a budget, the 429 in the
// OpenAI shape, or Anthropic's with `anthropic`. Not a coroutine with local state: `answer`
// itself is returned, no frame more.
awaitable<void> after_shared_budget(gateway::Forwarder& forwarder, Exchange& writer,
                                    awaitable<void> answer, bool anthropic);

// Registers the chat routes on `router`; `forwarder` must outlive it.
void add_chat_routes(Router& router, gateway::Forwarder& forwarder);

}  // namespace bc::api
