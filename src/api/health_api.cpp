#include "api/health_api.h"

#include "api/reply.h"
#include "gateway/shared_state.h"

namespace bc::api {

namespace {
awaitable<void> health(net::ResponseWriter& writer, const gateway::SharedState* state) {
  const char* status = state != nullptr && state->degraded() ? "degraded" : "ok";
  std::string body =
      std::string(R"({"status":")") + status + R"(","timestamp":")" + utc_timestamp() + R"("})";
  co_await send_json(writer, 200, std::move(body));
}
}  // namespace

void add_health_routes(Router& router, const gateway::SharedState* state) {
  auto handler = [state](const net::HttpRequest&, net::ResponseWriter& writer) {
    return health(writer, state);
  };
  router.add(boost::beast::http::verb::get, "/health", handler);
  router.add(boost::beast::http::verb::get, "/llm/health", handler);
}

}  // namespace bc::api
