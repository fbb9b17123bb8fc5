// OpenAI's embeddings endpoint, POST /v1/embeddings, balanced over the keys of the embedding
// models (`embeddings: true`) through the same forwarder as the chat routes. Thin: parse, hand
// to the forwarder, render (core/embedding.h).
#pragma once

#include "api/router.h"
#include "gateway/forwarder.h"

namespace bc::api {

// Registers the route on `router`; `forwarder` must outlive it.
void add_embeddings_routes(Router& router, gateway::Forwarder& forwarder);

}  // namespace bc::api
