#include "api/routes.h"

#include <random>

#include <spdlog/spdlog.h>
#include <boost/asio/post.hpp>

#include "api/admin_access.h"
#include "api/admin_api.h"
#include "api/allowances.h"
#include "api/chat_api.h"
#include "api/client_auth.h"
#include "api/client_budgets.h"
#include "api/dashboard_api.h"
#include "api/embeddings_api.h"
#include "api/exchange.h"
#include "api/health_api.h"
#include "api/load_api.h"
#include "api/messages_api.h"
#include "api/reload_report.h"
#include "api/reply.h"
#include "api/router.h"
#include "api/usage_api.h"
#include "gateway/forwarder.h"
#include "gateway/shared_admission.h"
#include "net/http_client.h"
#include "telemetry/app_log.h"
#include "telemetry/live_stats.h"
#include "telemetry/metrics.h"

namespace bc::api {

namespace {

// What every worker shares: the metrics, the client keys with their rate windows, the log.
struct SharedApi {
  SharedApi(const gateway::Gateway& gateway, std::shared_ptr<telemetry::AccessLog> log,
            std::shared_ptr<usage::Ledger> usage_ledger,
            std::shared_ptr<telemetry::LiveStats> live_stats,
            std::shared_ptr<AdminSessions> admin_sessions)
      : metrics(model_labels(gateway), gateway.config().metrics.per_key,
                static_cast<std::size_t>(gateway.config().metrics.per_key_max_keys)),
        auth(gateway.config().auth),
        access_log(std::move(log)),
        ledger(std::move(usage_ledger)),
        budgets(auth.clients(), gateway.config().auth, metrics),
        live(std::move(live_stats)),
        sessions(std::move(admin_sessions)) {
    for (std::size_t m = 0; m < gateway.pool().model_count(); ++m) {
      live_models.push_back(live->model(gateway.pool().model(m).name));
    }
  }

  static std::vector<telemetry::ModelLabels> model_labels(const gateway::Gateway& gateway) {
    std::vector<telemetry::ModelLabels> out;
    for (std::size_t i = 0; i < gateway.pool().model_count(); ++i) {
      const auto& spec = gateway.pool().model(i);
      telemetry::ModelLabels m{spec.name, {}, spec.rpd > 0, spec.tpd > 0};
      for (const auto& k : spec.keys) m.key_ids.push_back(k.id);
      out.push_back(std::move(m));
    }
    return out;
  }

  telemetry::Metrics metrics;
  ClientAuth auth;
  std::shared_ptr<telemetry::AccessLog> access_log;
  std::shared_ptr<usage::Ledger> ledger;  // nullptr: no usage ledger
  ClientBudgets budgets;
  // The dashboard's figures: the service's (they outlive a reload), bound per model here.
  std::shared_ptr<telemetry::LiveStats> live;
  std::vector<telemetry::TrafficCounters*> live_models;  // [model]
  // The dashboard's sign-in sessions: the service's too, so a reload does not sign anyone out
  // (unless it changes the admin token).
  std::shared_ptr<AdminSessions> sessions;
};

// The calls the usage ledger records: the chat and embeddings routes, refused or served.
bool ledger_route(std::string_view route) {
  return route == "/v1/chat/completions" || route == "/v1/messages" || route == "/llm/chat" ||
         route == "/llm/chat/stream" || route == "/v1/embeddings";
}

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
                           "(Authorization: Bearer <client key>) or in x-api-key.";
  return e;
}

// RFC 6750's challenge on a 401. (Built outside the coroutines: GCC 12 rejects a braced
// Headers list of string literals inside one.)
Headers bearer_challenge() {
  Headers h;
  h.push_back(Header{"WWW-Authenticate", "Bearer"});
  return h;
}

net::HttpClientOptions client_options(const config::Config& config) {
  net::HttpClientOptions options;
  options.max_idle_per_origin = static_cast<std::size_t>(config.upstream.pool_max_idle_per_origin);
  options.idle_ttl = std::chrono::milliseconds(config.upstream.pool_idle_ttl_ms);
  options.ca_file = config.upstream.ca_file;  // checked at startup and on reload
  return options;
}

bool same_client_options(const net::HttpClientOptions& a, const net::HttpClientOptions& b) {
  return a.max_idle_per_origin == b.max_idle_per_origin && a.idle_ttl == b.idle_ttl &&
         a.verify_peer == b.verify_peer && a.ca_file == b.ca_file &&
         a.max_header_bytes == b.max_header_bytes && a.user_agent == b.user_agent;
}

// Everything one worker thread needs for one generation.
struct WorkerApi {
  WorkerApi(std::shared_ptr<gateway::Gateway> gateway, std::shared_ptr<SharedApi> shared,
            boost::asio::any_io_executor executor, std::shared_ptr<net::Upstream> client,
            std::weak_ptr<Service> service,
            std::shared_ptr<gateway::SharedAdmission> shared_admission)
      : gateway(gateway),
        shared(std::move(shared)),
        shared_admission(std::move(shared_admission)),
        forwarder(gateway, executor, std::move(client)),
        request_metrics(this->shared->metrics),
        rng(std::random_device{}()) {
    forwarder.set_metrics(&this->shared->metrics);
    const gateway::SharedState* state = nullptr;
    if (this->shared_admission) {
      forwarder.set_shared_admission(this->shared_admission.get());
      state = &this->shared_admission->state();
    }
    add_health_routes(router, state);
    add_chat_routes(router, forwarder);
    add_embeddings_routes(router, forwarder);
    add_messages_routes(router, forwarder);
    add_load_routes(router, *gateway, this->shared_admission.get());
    add_metrics_route(router, *gateway, this->shared->metrics, this->shared->ledger.get(), state);
    add_usage_routes(router, this->shared->ledger);
    const auto& sessions = *this->shared->sessions;
    add_admin_routes(router, *gateway, sessions, [service]() -> Result<std::string> {
      auto s = service.lock();
      if (!s) return Error::unavailable("the gateway is shutting down", "shutting_down");
      return s->reload();
    });
    add_login_routes(router, *gateway, *this->shared->sessions);
    add_dashboard_routes(router, *gateway, *this->shared->live, sessions);
    add_key_action_routes(router, *gateway, sessions, this->shared_admission.get());
  }

  awaitable<void> handle(net::HttpRequest& request, net::ResponseWriter& writer) {
    Exchange exchange(writer, request_id_for(request, rng), Clock::now());
    exchange.budgets = &shared->budgets;
    co_await admit_and_dispatch(request, exchange);
    record(request, exchange);
  }

  // Who may send this request: the admin token on /admin/*, a client key on the API when
  // client keys are configured. Looks at the head only, so the server asks it before it
  // reads a body (net::HeadCheck); the handler asks again to learn the client and to answer
  // a refusal. Takes nothing from any rate.
  std::optional<Error> access_refused(const net::HttpRequest& request,
                                      const ClientKey** client) const {
    const auto& config = gateway->config();
    const auto path = request_path(request);
    if (path == "/admin" || path.starts_with("/admin/")) {
      return admin_refused(config, *shared->sessions, request, Clock::now());
    }
    if (shared->auth.enabled() && needs_client_key(path) &&
        !(admin_guarded(path) && !config.admin.token.empty())) {
      *client = shared->auth.authenticate(request);
      if (*client == nullptr) {
        const bool had_header = !request[boost::beast::http::field::authorization].empty() ||
                                !request[kApiKeyHeader].empty();
        return client_key_refused(had_header);
      }
    }
    return std::nullopt;
  }

  bool head_acceptable(const net::HttpRequest& head) const {
    const ClientKey* client = nullptr;
    return !access_refused(head, &client);
  }

  // Not a coroutine: it returns the route's own awaitable (or the refusal's), so an open
  // stream keeps no frame of the admission step's.
  awaitable<void> admit_and_dispatch(net::HttpRequest& request, Exchange& exchange) {
    // Anthropic's clients read errors in Anthropic's shape, refusals included.
    const bool anthropic = anthropic_dialect(request_path(request));
    auto refuse = [&](Error e, Headers extra = {}) {
      return anthropic ? send_anthropic_error(exchange, std::move(e), std::move(extra))
                       : send_error(exchange, std::move(e), std::move(extra));
    };
    if (auto refused = access_refused(request, &exchange.client)) {
      return refuse(std::move(*refused), bearer_challenge());
    }
    if (exchange.body_skipped()) {
      // The head check refused what this check lets through: a reload came in between. The
      // body was not read, so the request cannot be served; the client may send it again.
      return refuse(
          Error::unavailable("the gateway's configuration changed while this request "
                             "arrived; send it again",
                             "config_changed"));
    }
    if (exchange.client != nullptr) {
      if (const auto wait = shared->auth.admit(*exchange.client, Clock::now())) {
        Error e;
        e.kind = ErrorKind::kRateLimited;
        e.code = "client_rate_limited";
        e.message = "client '" + exchange.client->name + "' is past its limit of " +
                    std::to_string(exchange.client->rpm) + " requests per minute";
        e.cooldown = *wait;
        return refuse(std::move(e));
      }
    }
    return router.dispatch(request, exchange);
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
    if (ledger_route(route)) {
      count_for_dashboard(*shared->live, shared->live_models, gateway->pool(), exchange, status,
                          total);
    }
    log_failure(exchange, status);
    if (exchange.budget_taken_at_ms != 0 && exchange.client != nullptr) {
      shared->budgets.settle(*exchange.client, exchange.budget_taken_at_ms,
                             exchange.budget_reserved, tokens_used(report, status));
      exchange.shared_budget.settle(tokens_used(report, status));
    }
    if (shared->ledger && ledger_route(route)) {
      shared->ledger->submit(usage_record_of(exchange, route, *gateway, status, total));
    }

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

  // The application log's line for a request that failed: a warning when the gateway or an
  // upstream failed it (5xx), debug for the caller's own mistakes (4xx), with what an operator
  // filters on. The access log has every request; this is what to look at first.
  static void log_failure(const Exchange& exchange, int status) {
    if (status < 400) return;
    const auto level = status >= 500 ? spdlog::level::warn : spdlog::level::debug;
    if (!spdlog::default_logger_raw()->should_log(level)) return;
    const auto& report = exchange.report;
    telemetry::log_event(level,
                         {.request_id = exchange.request_id(),
                          .model = report.model,
                          .key = report.key_id,
                          .error = telemetry::error_class(status)},
                         "request failed with " + std::to_string(status) + " after " +
                             std::to_string(report.attempts) + " attempt(s)");
  }

  std::shared_ptr<gateway::Gateway> gateway;
  std::shared_ptr<SharedApi> shared;
  // Before the forwarder, which points at it: a request's attempt releases its Redis slot
  // through it, so it goes last.
  std::shared_ptr<gateway::SharedAdmission> shared_admission;
  gateway::Forwarder forwarder;
  Router router;
  telemetry::RequestMetrics request_metrics;
  Rng rng;
};

// A request holds its worker's generation until it ends, whatever reloads happen meanwhile.
awaitable<void> serve_request(std::shared_ptr<WorkerApi> api, net::HttpRequest& request,
                              net::ResponseWriter& writer) {
  co_await api->handle(request, writer);
}

}  // namespace

struct Service::Generation {
  std::shared_ptr<gateway::Gateway> gateway;
  std::shared_ptr<SharedApi> shared;
  net::HttpClientOptions client_options;
};

// One worker thread's view: touched only on that thread once the server runs.
struct Service::Worker {
  boost::asio::any_io_executor executor;
  std::shared_ptr<WorkerApi> api;
  std::shared_ptr<net::Upstream> client;
  net::HttpClientOptions client_options;
  // This worker's Redis session and shared admission (state.backend redis), kept across
  // reloads like the upstream client: a change to `state` needs a restart.
  std::shared_ptr<gateway::SharedAdmission> shared_admission;

  // Builds this worker's API for `gen`, keeping the upstream client (and its pooled
  // connections) when its settings did not change.
  void switch_to(const Generation& gen, std::weak_ptr<Service> service) {
    if (!client || !same_client_options(client_options, gen.client_options)) {
      client = std::make_shared<net::HttpClient>(executor, gen.client_options);
      client_options = gen.client_options;
    }
    api = std::make_shared<WorkerApi>(gen.gateway, gen.shared, executor, client, std::move(service),
                                      shared_admission);
  }
};

std::shared_ptr<Service> Service::create(std::shared_ptr<gateway::Gateway> gateway,
                                         std::shared_ptr<telemetry::AccessLog> access_log,
                                         ConfigLoader loader, std::shared_ptr<usage::Ledger> ledger,
                                         std::shared_ptr<gateway::SharedState> shared_state) {
  std::shared_ptr<Service> service(new Service());
  service->shared_state_ = std::move(shared_state);
  service->access_log_ = std::move(access_log);
  service->ledger_ = std::move(ledger);
  service->live_ = std::make_shared<telemetry::LiveStats>();
  service->live_->start_sampler();
  service->sessions_ = std::make_shared<AdminSessions>();
  service->loader_ = std::move(loader);
  service->current_ = service->make_generation(std::move(gateway));
  return service;
}

std::shared_ptr<Service::Generation> Service::make_generation(
    std::shared_ptr<gateway::Gateway> gateway) {
  auto gen = std::make_shared<Generation>();
  gen->shared = std::make_shared<SharedApi>(*gateway, access_log_, ledger_, live_, sessions_);
  if (ledger_) {
    // Every generation: a reload may bring keys (or limits) that start afresh, and a client's
    // budget counts start with each generation's client keys (from the previous one's).
    if (auto read = read_back_quotas(*ledger_, gateway->pool()); !read) {
      spdlog::error("usage ledger: the daily quotas start from zero: {}", read.error().message);
    }
    ClientBudgets* previous = current_ ? &current_->shared->budgets : nullptr;
    if (auto read = gen->shared->budgets.read_back(*ledger_, previous); !read) {
      spdlog::error("usage ledger: the client budgets start from zero: {}", read.error().message);
    }
    // From here on the quotas and budgets stay inside what the ledger made durable.
    ledger_->set_allowance_source(std::make_shared<Allowances>(
        gateway, std::shared_ptr<ClientBudgets>(gen->shared, &gen->shared->budgets)));
    std::weak_ptr<usage::Ledger> ledger = ledger_;
    gateway->pool().set_grant_listener([ledger] {
      if (auto l = ledger.lock()) l->want_allowance();
    });
  }
  gen->client_options = client_options(gateway->config());
  gen->gateway = std::move(gateway);
  return gen;
}

std::shared_ptr<const gateway::Gateway> Service::current() const {
  std::lock_guard lock(mutex_);
  return current_->gateway;
}

net::HandlerFactory Service::handler_factory() {
  std::weak_ptr<Service> self = weak_from_this();
  return [self](boost::asio::any_io_executor executor, int) -> net::RequestHandlers {
    auto service = self.lock();
    auto worker = std::make_shared<Worker>();
    worker->executor = executor;
    if (service->shared_state_) {
      worker->shared_admission =
          std::make_shared<gateway::SharedAdmission>(service->shared_state_, executor);
      worker->shared_admission->start();
    }
    {
      std::lock_guard lock(service->mutex_);
      worker->switch_to(*service->current_, self);
      service->workers_.push_back(worker);
    }
    auto handler = [worker](net::HttpRequest& request, net::ResponseWriter& writer) {
      return serve_request(worker->api, request, writer);
    };
    auto check_head = [worker](const net::HttpRequest& head) {
      return worker->api->head_acceptable(head);
    };
    return net::RequestHandlers(std::move(handler), std::move(check_head));
  };
}

Result<std::string> Service::reload() {
  std::lock_guard serial(reload_mutex_);
  std::shared_ptr<Generation> old;
  {
    std::lock_guard lock(mutex_);
    old = current_;
  }
  std::shared_ptr<const config::Config> config;
  try {
    config = std::make_shared<const config::Config>(loader_());
  } catch (const std::exception& e) {
    return Error::invalid_request(
        std::string("the new config was refused and the old one keeps serving: ") + e.what(),
        "invalid_config");
  }
  // Before the new pool lifts them in the live state it shares with the old one.
  auto ids = gateway::SharedAdmission::quarantined_ids(old->gateway->pool());
  auto built = gateway::Gateway::create(config, old->gateway.get());
  if (!built) {
    return Error::invalid_request(
        "the new config was refused and the old one keeps serving: " + built.error().message,
        "invalid_config");
  }
  std::shared_ptr<gateway::Gateway> gateway(std::move(built).value());
  auto next = make_generation(gateway);
  old->gateway->hand_over_to(gateway);

  std::vector<std::shared_ptr<Worker>> workers;
  {
    std::lock_guard lock(mutex_);
    current_ = next;
    for (const auto& w : workers_) {
      if (auto worker = w.lock()) workers.push_back(std::move(worker));
    }
  }
  // Each worker switches on its own thread, between requests: its connections and coroutines
  // are never touched from here. The task holds the worker only weakly: should the server be
  // gone by then, there is nothing to switch.
  std::weak_ptr<Service> self = weak_from_this();
  for (const auto& worker : workers) {
    std::weak_ptr<Worker> weak = worker;
    boost::asio::post(worker->executor, [weak, next, self] {
      if (auto w = weak.lock()) w->switch_to(*next, self);
    });
  }
  // A reload lifts quarantines (Pool::create): their marks in Redis go too, sent by one worker.
  if (!workers.empty() && workers[0]->shared_admission) {
    std::weak_ptr<gateway::SharedAdmission> shared = workers[0]->shared_admission;
    if (!ids.empty())
      boost::asio::post(workers[0]->executor, [shared, ids = std::move(ids)] {
        if (auto s = shared.lock()) s->lift_ids(ids);
      });
  }
  workers.clear();  // not the last owner here: the handlers are

  std::size_t keys = 0;
  for (std::size_t m = 0; m < gateway->pool().model_count(); ++m) {
    keys += gateway->pool().model(m).keys.size();
  }
  std::string summary =
      "reloaded " + config->source + ": " + std::to_string(gateway->pool().model_count()) +
      " model(s), " + std::to_string(keys) + " key(s), " +
      std::to_string(kept_keys(old->gateway->pool(), gateway->pool())) + " kept their live state";
  const auto fixed = restart_only_changes(old->gateway->config(), *config);
  if (!fixed.empty()) {
    summary += "; changes to";
    for (const auto& f : fixed) summary += " " + f;
    summary += " take effect only after a restart";
  }
  return summary;
}

}  // namespace bc::api
