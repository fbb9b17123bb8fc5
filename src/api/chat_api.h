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
// refusal when the budget has no room. When the budget has room but the usage ledger's
// allowance (usage/allowance.h) not yet, sets writer.budget_pending and takes nothing.
std::optional<Error> take_budget(Exchange& writer, const ChatRequest& chat);
// The same for a call whose estimate is `tokens` (an embeddings call).
std::optional<Error> take_budget(Exchange& writer, std::int64_t tokens);
// With writer.budget_pending: tries again as the ledger raises the allowance, for a bounded
// time; the refusal (over budget, or the allowance never came) or nothing once taken.
awaitable<std::optional<Error>> wait_for_budget(Exchange& writer);
// `answer` (not started yet), after the wait for the usage ledger's allowance when the
// budget's take is pending (wait_for_budget), and after the same take from the client's
// budgets in Redis when
// the state is shared (api/client_budgets.h take_shared_budget); over a budget, the 429 in the
// OpenAI shape, or Anthropic's with `anthropic`. Not a coroutine with local state: `answer`
// itself is returned, no frame more.
awaitable<void> after_shared_budget(gateway::Forwarder& forwarder, Exchange& writer,
                                    awaitable<void> answer, bool anthropic);

// Registers the chat routes on `router`; `forwarder` must outlive it.
void add_chat_routes(Router& router, gateway::Forwarder& forwarder);

}  // namespace bc::api
