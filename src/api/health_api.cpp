#include "api/health_api.h"

#include "api/reply.h"

namespace bc::api {

namespace {
awaitable<void> health(const net::HttpRequest&, net::ResponseWriter& writer) {
  co_await send_json(writer, 200, R"({"status":"ok","timestamp":")" + utc_timestamp() + R"("})");
}
}  // namespace

void add_health_routes(Router& router) {
  router.add(boost::beast::http::verb::get, "/health", health);
  router.add(boost::beast::http::verb::get, "/llm/health", health);
}

}  // namespace bc::api
