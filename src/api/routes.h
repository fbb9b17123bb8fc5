// The whole HTTP API, reloadable. Each config in force is one generation: the gateway (pool,
// providers, queue), the metrics and client keys, and per worker thread a forwarder (with that
// thread's upstream connection pool) and the router over every endpoint, behind one pipeline
// per request: request id, access control (client keys on /v1 and /llm, the admin token or a
// dashboard session on /admin), dispatch, then metrics and the access log.
//
// A reload (SIGHUP or POST /admin/reload) validates the new config first; an invalid one is
// refused and the current one keeps serving. A valid one becomes the next generation: each
// worker switches to it on its own thread, requests already running finish on the generation
// they started with, and keys present in both keep their live state (balance/pool.h).
#pragma once

#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "api/admin_session.h"
#include "config/config.h"
#include "core/result.h"
#include "gateway/gateway.h"
#include "gateway/shared_state.h"
#include "net/http_server.h"
#include "telemetry/access_log.h"
#include "telemetry/live_stats.h"
#include "usage/ledger.h"

namespace bc::api {

class Service : public std::enable_shared_from_this<Service> {
 public:
  // Loads the config to reload from (throws config::ConfigError on a bad file).
  using ConfigLoader = std::function<config::Config()>;

  // `access_log`: where each request's line goes; nullptr: no access log. `ledger`: where
  // each chat call's usage record goes (usage/ledger.h); nullptr: none. `shared_state`: the
  // limits shared with other instances through Redis (state.backend redis): each worker
  // then keeps its own Redis session for the server's lifetime; nullptr: local state.
  static std::shared_ptr<Service> create(
      std::shared_ptr<gateway::Gateway> gateway, std::shared_ptr<telemetry::AccessLog> access_log,
      ConfigLoader loader, std::shared_ptr<usage::Ledger> ledger = nullptr,
      std::shared_ptr<gateway::SharedState> shared_state = nullptr);

  // What main() gives the server: one handler per worker thread.
  net::HandlerFactory handler_factory();

  // Loads, validates and swaps in the config. The answer says what changed, or why the
  // config was refused. Thread-safe; reloads run one at a time.
  Result<std::string> reload();

  std::shared_ptr<const gateway::Gateway> current() const;

  struct Generation;
  struct Worker;

 private:
  Service() = default;
  std::shared_ptr<Generation> make_generation(std::shared_ptr<gateway::Gateway> gateway);

  std::shared_ptr<telemetry::AccessLog> access_log_;
  std::shared_ptr<usage::Ledger> ledger_;
  // The dashboard's traffic figures and series: one for the service, so a reload keeps them.
  std::shared_ptr<telemetry::LiveStats> live_;
  // The dashboard's sign-in sessions (admin_session.h), kept across reloads.
  std::shared_ptr<AdminSessions> sessions_;
  std::shared_ptr<gateway::SharedState> shared_state_;
  ConfigLoader loader_;
  std::mutex reload_mutex_;   // one reload at a time
  mutable std::mutex mutex_;  // guards the two below
  std::shared_ptr<Generation> current_;
  // Owned by the server's handlers: a worker's upstream client holds sockets of that worker's
  // io_context, so it must go with the handler, before the io_context, never after it.
  std::vector<std::weak_ptr<Worker>> workers_;
};

}  // namespace bc::api
