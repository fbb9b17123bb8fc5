// The seed's load and capacity endpoints:
//   GET /llm/system-load                 {"load_percent": n}
//   GET /llm/system-capacity             total_max per capacity type, details per model
//   GET /llm/key-load/<model>/<key-id>   one key's load (by its public id)
// and the key-exposing ones, which answer 404 unless admin.expose_keys is true and then
// require the admin token when one is configured:
//   GET /llm/model-load/<model>   GET /llm/models   GET /llm/keys/<model>
#pragma once

#include <optional>
#include <string>

#include "api/router.h"
#include "gateway/gateway.h"
#include "gateway/shared_admission.h"

namespace bc::api {

// With `shared` (state: redis, this worker's), /llm/system-capacity, /llm/system-load and
// /llm/key-load report the requests in flight over every instance, and which instance answered.
void add_load_routes(Router& router, gateway::Gateway& gateway,
                     gateway::SharedAdmission* shared = nullptr);

// True when the request carries `Authorization: Bearer <token>`; compares in constant time.
bool bearer_matches(const net::HttpRequest& request, std::string_view token);
// True when `given` is `token`; compares in constant time in the token's content.
bool secret_equals(std::string_view given, std::string_view token);

// The value of `name` in the request's query string (percent-decoded); nullopt when absent.
std::optional<std::string> query_param(const net::HttpRequest& request, std::string_view name);

}  // namespace bc::api
