#include "api/routes.h"

#include "api/chat_api.h"
#include "api/health_api.h"
#include "api/load_api.h"
#include "api/router.h"
#include "gateway/forwarder.h"
#include "net/http_client.h"

namespace bc::api {

namespace {

// Everything one worker thread needs, owned by its handler.
struct WorkerApi {
  WorkerApi(std::shared_ptr<gateway::Gateway> gateway, boost::asio::any_io_executor executor)
      : forwarder(gateway, executor, make_client(*gateway, executor)) {
    add_health_routes(router);
    add_chat_routes(router, forwarder);
    add_load_routes(router, *gateway);
  }

  static std::unique_ptr<net::Upstream> make_client(const gateway::Gateway& gateway,
                                                    boost::asio::any_io_executor executor) {
    const auto& up = gateway.config().upstream;
    net::HttpClientOptions options;
    options.max_idle_per_origin = static_cast<std::size_t>(up.pool_max_idle_per_origin);
    options.idle_ttl = std::chrono::milliseconds(up.pool_idle_ttl_ms);
    return std::make_unique<net::HttpClient>(executor, options);
  }

  gateway::Forwarder forwarder;
  Router router;
};

}  // namespace

net::HandlerFactory make_handler_factory(std::shared_ptr<gateway::Gateway> gateway) {
  return [gateway](boost::asio::any_io_executor executor, int) -> net::Handler {
    auto api = std::make_shared<WorkerApi>(gateway, executor);
    return [api](const net::HttpRequest& request, net::ResponseWriter& writer) {
      return api->router.dispatch(request, writer);
    };
  };
}

}  // namespace bc::api
