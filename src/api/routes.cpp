#include "api/routes.h"

#include <random>

#include "api/admin_api.h"
#include "api/chat_api.h"
#include "api/client_auth.h"
#include "api/exchange.h"
#include "api/health_api.h"
#include "api/load_api.h"
#include "api/reply.h"
#include "api/router.h"
#include "gateway/forwarder.h"
#include "net/http_client.h"
#include "telemetry/metrics.h"

namespace bc::api {

namespace {

// What every worker shares: the metrics, the client keys with their rate windows, the log.
struct SharedApi {
  SharedApi(const gateway::Gateway& gateway, std::shared_ptr<telemetry::AccessLog> log)
      : metrics(model_labels(gateway)), auth(gateway.config().auth), access_log(std::move(log)) {}

  static std::vector<telemetry::ModelLabels> model_labels(const gateway::Gateway& gateway) {
    std::vector<telemetry::ModelLabels> out;
    for (std::size_t i = 0; i < gateway.pool().model_count(); ++i) {
      const auto& spec = gateway.pool().model(i);
      telemetry::ModelLabels m{spec.name, {}};
      for (const auto& k : spec.keys) m.key_ids.push_back(k.id);
      out.push_back(std::move(m));
    }
    return out;
  }

  telemetry::Metrics metrics;
  ClientAuth auth;
  std::shared_ptr<telemetry::AccessLog> access_log;
};

// The key-exposing /llm endpoints check the admin token themselves (load_api.cpp); with a
// token set they take it in place of a client key.
bool admin_guarded(std::string_view path) {
  return path == "/llm/models" || path.starts_with("/llm/keys/") ||
         path.starts_with("/llm/model-load/");
}

Error client_key_refused(bool had_header) {
  Error e;
  e.kind = ErrorKind::kAuthentication;
  e.code = "invalid_api_key";
  e.message = had_header ? "Incorrect API key provided. Use one of the client keys this gateway "
                           "was configured with (auth.client_keys)."
                         : "You didn't provide an API key. Send it in the Authorization header "
                           "(Authorization: Bearer <client key>).";
  return e;
}

// RFC 6750's challenge on a 401. (Built outside the coroutines: GCC 12 rejects a braced
// Headers list of string literals inside one.)
Headers bearer_challenge() {
  Headers h;
  h.push_back(Header{"WWW-Authenticate", "Bearer"});
  return h;
}

// Everything one worker thread needs, owned by its handler.
struct WorkerApi {
  WorkerApi(std::shared_ptr<gateway::Gateway> gateway, std::shared_ptr<SharedApi> shared,
            boost::asio::any_io_executor executor)
      : gateway(gateway),
        shared(std::move(shared)),
        forwarder(gateway, executor, make_client(*gateway, executor)),
        request_metrics(this->shared->metrics),
        rng(std::random_device{}()) {
    forwarder.set_metrics(&this->shared->metrics);
    add_health_routes(router);
    add_chat_routes(router, forwarder);
    add_load_routes(router, *gateway);
    add_metrics_route(router, *gateway, this->shared->metrics);
    add_admin_routes(router, *gateway);
  }

  static std::unique_ptr<net::Upstream> make_client(const gateway::Gateway& gateway,
                                                    boost::asio::any_io_executor executor) {
    const auto& up = gateway.config().upstream;
    net::HttpClientOptions options;
    options.max_idle_per_origin = static_cast<std::size_t>(up.pool_max_idle_per_origin);
    options.idle_ttl = std::chrono::milliseconds(up.pool_idle_ttl_ms);
    options.ca_file = up.ca_file;  // checked at startup: a failure here cannot happen silently
    return std::make_unique<net::HttpClient>(executor, options);
  }

  awaitable<void> handle(const net::HttpRequest& request, net::ResponseWriter& writer) {
    Exchange exchange(writer, request_id_for(request, rng), Clock::now());
    co_await admit_and_dispatch(request, exchange);
    record(request, exchange);
  }

  awaitable<void> admit_and_dispatch(const net::HttpRequest& request, Exchange& exchange) {
    const auto& config = gateway->config();
    const auto path = request_path(request);
    if (path == "/admin" || path.starts_with("/admin/")) {
      if (auto refused = admin_refused(config, request)) {
        co_await send_error(exchange, *refused, bearer_challenge());
        co_return;
      }
    } else if (shared->auth.enabled() && needs_client_key(path) &&
               !(admin_guarded(path) && !config.admin.token.empty())) {
      exchange.client = shared->auth.authenticate(request);
      if (exchange.client == nullptr) {
        const bool had_header = !request[boost::beast::http::field::authorization].empty();
        co_await send_error(exchange, client_key_refused(had_header), bearer_challenge());
        co_return;
      }
      if (const auto wait = shared->auth.admit(*exchange.client, Clock::now())) {
        Error e;
        e.kind = ErrorKind::kRateLimited;
        e.code = "client_rate_limited";
        e.message = "client '" + exchange.client->name + "' is past its limit of " +
                    std::to_string(exchange.client->rpm) + " requests per minute";
        e.cooldown = *wait;
        co_await send_error(exchange, e);
        co_return;
      }
    }
    co_await router.dispatch(request, exchange);
  }

  // Metrics and the access log for a finished request.
  void record(const net::HttpRequest& request, const Exchange& exchange) {
    const auto total = Clock::now() - exchange.started_at();
    const auto route = router.route_of(request);
    const auto& report = exchange.report;
    // No response at all: the client left first (nginx's 499).
    const int status = exchange.status() != 0 ? exchange.status() : 499;
    auto& metrics = shared->metrics;
    request_metrics.request(route, report.target, status, total);
    if (report.target) {
      if (report.usage) {
        metrics.tokens(*report.target, report.usage->prompt_tokens,
                       report.usage->completion_tokens);
      }
      if (exchange.streamed() && status == 200 && exchange.first_byte()) {
        metrics.time_to_first_token(report.target->model,
                                    *exchange.first_byte() - exchange.started_at());
      }
    }
    if (report.attempts > 0 || report.queue_time.count() > 0) {
      metrics.gateway_overhead(total - report.upstream_time - report.queue_time);
    }
    if (report.queue_time.count() > 0) metrics.queue_wait(report.queue_time);

    if (!shared->access_log) return;
    using Ms = std::chrono::duration<double, std::milli>;
    telemetry::AccessRecord r;
    r.request_id = exchange.request_id();
    r.method = request.method_string();
    r.route = route;
    r.path = request_path(request);
    r.model = report.model;
    r.key = report.key_id;
    r.client = exchange.client != nullptr ? std::string_view(exchange.client->name) : "";
    r.attempts = report.attempts;
    r.status = status;
    if (exchange.first_byte())
      r.ttfb_ms = Ms(*exchange.first_byte() - exchange.started_at()).count();
    r.total_ms = Ms(total).count();
    if (report.usage) {
      r.prompt_tokens = report.usage->prompt_tokens;
      r.completion_tokens = report.usage->completion_tokens;
    }
    shared->access_log->write(r);
  }

  std::shared_ptr<gateway::Gateway> gateway;
  std::shared_ptr<SharedApi> shared;
  gateway::Forwarder forwarder;
  Router router;
  telemetry::RequestMetrics request_metrics;
  Rng rng;
};

}  // namespace

net::HandlerFactory make_handler_factory(std::shared_ptr<gateway::Gateway> gateway,
                                         std::shared_ptr<telemetry::AccessLog> access_log) {
  auto shared = std::make_shared<SharedApi>(*gateway, std::move(access_log));
  return [gateway, shared](boost::asio::any_io_executor executor, int) -> net::Handler {
    auto api = std::make_shared<WorkerApi>(gateway, shared, executor);
    return [api](const net::HttpRequest& request, net::ResponseWriter& writer) {
      return api->handle(request, writer);
    };
  };
}

}  // namespace bc::api
