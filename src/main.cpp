// The composition root and the command line: `serve` runs the gateway, `check` validates a
// config. Exceptions end here: a bad config or an address in use ends the process with a
// clear message and exit code 1.
#include <sys/resource.h>

#include <csignal>
#include <cstdio>
#include <functional>
#include <iostream>
#include <memory>
#include <stdexcept>
#include <thread>

#include <spdlog/spdlog.h>
#include <CLI/CLI.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>

#include "allocator.h"
#include "api/routes.h"
#include "config/demo_config.h"
#include "config/loader.h"
#include "config/warnings.h"
#include "gateway/gateway.h"
#include "gateway/shared_state.h"
#include "net/http_client.h"
#include "net/http_server.h"
#include "probe.h"
#include "service_notify.h"
#include "state/connect_check.h"
#include "telemetry/access_log.h"
#include "telemetry/app_log.h"
#include "telemetry/build_info.h"
#include "usage/ledger.h"
#include "usage_command.h"

namespace {

using bc::config::Config;

// Loads the file, or the embedded demo config when no file is given. Throws ConfigError.
Config load(const std::string& path) {
  return path.empty() ? bc::config::load_demo_config() : bc::config::load_config_file(path);
}

int count_keys(const Config& cfg) {
  int n = 0;
  for (const auto* m : cfg.active_models()) n += static_cast<int>(m->api_keys.size());
  return n;
}

// The files the loader found readable must also parse: a bad CA bundle, certificate or key
// is a startup (or reload) error, not a failure of the first request. One line per problem.
std::string bad_files(const Config& cfg) {
  std::string problems;
  auto report = [&](const std::string& field, const bc::Status& status) {
    if (!status) problems += cfg.source + ": " + field + ": " + status.error().message + "\n";
  };
  if (!cfg.upstream.ca_file.empty()) {
    report("upstream.ca_file", bc::net::check_ca_file(cfg.upstream.ca_file));
  }
  for (const auto* m : cfg.active_models()) {
    if (!m->ca_file.empty()) {
      report("models." + m->name + ".ca_file", bc::net::check_ca_file(m->ca_file));
    }
  }
  if (cfg.server.tls.enabled()) {
    report("server.tls",
           bc::net::check_server_tls(cfg.server.tls.cert_file, cfg.server.tls.key_file));
  }
  return problems;
}

// What a reload loads: the config, with its files checked as at start-up.
Config load_for_reload(const std::string& path) {
  Config cfg = load(path);
  if (auto problems = bad_files(cfg); !problems.empty()) {
    if (problems.back() == '\n') problems.pop_back();
    throw std::runtime_error(problems);
  }
  return cfg;
}

// Loads and builds everything `serve` needs, printing every problem; nullptr on failure.
std::shared_ptr<bc::gateway::Gateway> build_gateway(const std::string& path, Config& out) {
  try {
    out = load(path);
  } catch (const bc::config::ConfigError& e) {
    std::cerr << e.what() << (std::string_view(e.what()).ends_with('\n') ? "" : "\n");
    return nullptr;
  }
  if (const auto problems = bad_files(out); !problems.empty()) {
    std::cerr << problems;
    return nullptr;
  }
  auto gateway = bc::gateway::Gateway::create(std::make_shared<const Config>(out));
  if (!gateway) {
    std::cerr << gateway.error().message << "\n";
    return nullptr;
  }
  return std::shared_ptr<bc::gateway::Gateway>(std::move(gateway).value());
}

// `connect`: also try the Redis of `state:` (connect, AUTH, SELECT, PING); exit 1 when that
// fails, with Redis's own words (a wrong password, a refused connection, no answer in time).
int check(const std::string& path, bool connect) {
  Config cfg;
  if (!build_gateway(path, cfg)) return 1;
  std::cout << (path.empty() ? std::string(bc::config::kDemoConfigName) : path) << ": OK, "
            << cfg.active_models().size() << " active model(s), " << count_keys(cfg) << " key(s)\n";
  // Valid but open somewhere: said on stderr, the exit code stays 0.
  for (const auto& w : bc::config::security_warnings(cfg, cfg.server.host)) std::cerr << w << "\n";
  if (connect) {
    auto reached = bc::state::check_redis_connection(cfg.state);
    if (!reached) {
      std::cerr << cfg.source << ": state.url: " << reached.error().message << "\n";
      return 1;
    }
    std::cout << reached.value() << "\n";
  }
  return 0;
}

// With `state.backend: redis`, Redis is tried once before the workers start (from this
// thread, so no worker blocks): unreachable, the gateway refuses to start or goes on
// degraded, as state.on_unavailable says. False: refuse.
bool check_state_at_start(const Config& cfg) {
  if (!cfg.state.redis_enabled()) return true;
  auto reached = bc::state::check_redis_connection(cfg.state);
  if (reached) {
    spdlog::info("state: {}", reached.value());
    return true;
  }
  if (cfg.state.on_unavailable == "refuse") {
    std::cerr << cfg.source << ": state.url: " << reached.error().message
              << " (state.on_unavailable: refuse)\n";
    return false;
  }
  bc::telemetry::log_event(spdlog::level::warn, {.error = "state"},
                           "state: " + reached.error().message +
                               "; serving degraded (state.on_unavailable: serve_degraded)");
  return true;
}

// Each client connection and each upstream connection is a descriptor: thousands of open
// streams need more than the usual soft limit of 1024, so take what the hard limit allows.
void raise_descriptor_limit() {
  rlimit limit{};
  if (getrlimit(RLIMIT_NOFILE, &limit) == 0 && limit.rlim_cur < limit.rlim_max) {
    limit.rlim_cur = limit.rlim_max;
    if (setrlimit(RLIMIT_NOFILE, &limit) != 0) spdlog::warn("cannot raise RLIMIT_NOFILE");
  }
}

int serve(const std::string& path, const std::string& host, int port) {
  raise_descriptor_limit();
  Config cfg;
  auto gateway = build_gateway(path, cfg);
  if (!gateway) return 1;
  if (auto logging = bc::telemetry::configure_app_log(
          {.level = cfg.log.level, .format = cfg.log.format, .file = cfg.log.file});
      !logging) {
    std::cerr << cfg.source << ": log.file: " << logging.error().message << "\n";
    return 1;
  }
  if (!check_state_at_start(cfg)) return 1;

  bc::net::ServerOptions options;
  options.host = host.empty() ? cfg.server.host : host;
  options.port = static_cast<std::uint16_t>(port >= 0 ? port : cfg.server.port);
  options.threads = cfg.server.threads;
  options.max_body_bytes = cfg.server.max_body_bytes;
  options.max_header_bytes = cfg.server.max_header_bytes;
  options.max_connections = static_cast<std::size_t>(cfg.server.max_connections);
  options.max_body_bytes_in_flight = cfg.server.max_body_bytes_in_flight;
  options.read_timeout = std::chrono::milliseconds(cfg.server.read_timeout_ms);
  options.write_timeout = std::chrono::milliseconds(cfg.server.write_timeout_ms);
  options.idle_timeout = std::chrono::milliseconds(cfg.server.idle_timeout_ms);
  options.shutdown_grace = std::chrono::milliseconds(cfg.server.shutdown_grace_ms);
  options.tls_cert_file = cfg.server.tls.cert_file;
  options.tls_key_file = cfg.server.tls.key_file;

  // The access log has its own writer thread and never shares a stream with spdlog's logger.
  std::shared_ptr<bc::telemetry::AccessLog> access_log;
  if (cfg.log.access != "off") {
    auto opened = bc::telemetry::AccessLog::open(cfg.log.access);
    if (!opened) {
      std::cerr << cfg.source << ": log.access: " << opened.error().message << "\n";
      return 1;
    }
    access_log = std::move(opened).value();
  }

  // The usage ledger has its own writer thread; it outlives the server, so every request's
  // record is queued before the ledger drains and closes.
  std::shared_ptr<bc::usage::Ledger> ledger;
  if (!cfg.usage.path.empty()) {
    auto opened =
        bc::usage::Ledger::open({.path = cfg.usage.path,
                                 .retention_days = cfg.usage.retention_days,
                                 .flush_interval = std::chrono::milliseconds(cfg.usage.flush_ms),
                                 .queue_size = static_cast<std::size_t>(cfg.usage.queue_size)});
    if (!opened) {
      std::cerr << cfg.source << ": usage.path: " << opened.error().message << "\n";
      return 1;
    }
    ledger = std::move(opened).value();
  }

  // SIGHUP and POST /admin/reload re-read the same file (or the embedded demo).
  // state.backend redis: every worker admits against the limits shared through Redis.
  std::shared_ptr<bc::gateway::SharedState> shared_state;
  if (cfg.state.redis_enabled()) {
    shared_state = std::make_shared<bc::gateway::SharedState>(cfg.state);
  }
  auto service = bc::api::Service::create(
      gateway, access_log, [path] { return load_for_reload(path); }, ledger, shared_state);
  std::unique_ptr<bc::net::Server> server_ptr;
  try {
    server_ptr = std::make_unique<bc::net::Server>(options, service->handler_factory());
  } catch (const std::exception& e) {
    std::cerr << cfg.source << ": server: " << e.what() << "\n";
    return 1;
  }
  auto& server = *server_ptr;
  std::uint16_t bound = 0;
  try {
    bound = server.listen();
  } catch (const std::exception& e) {
    std::cerr << "cannot listen on " << options.host << ":" << options.port << ": " << e.what()
              << "\n";
    return 1;
  }

  // Signals are handled on their own small thread so the workers never block on them.
  boost::asio::io_context signals_ioc;
  boost::asio::signal_set signals(signals_ioc, SIGINT, SIGTERM);
  signals.async_wait([&](const boost::system::error_code& ec, int signo) {
    if (ec) return;
    spdlog::info("received signal {}: shutting down (grace {} ms)", signo,
                 cfg.server.shutdown_grace_ms);
    bc::notify_stopping();
    server.stop();
  });
  // SIGHUP: reopen the log files (after a rotation renamed them), then reload, as often as it
  // comes; the outcome goes to the (new) log.
  boost::asio::signal_set hangups(signals_ioc, SIGHUP);
  std::function<void()> await_hangup = [&] {
    hangups.async_wait([&](const boost::system::error_code& ec, int) {
      if (ec) return;
      bc::notify_reloading();
      if (auto reopened = bc::telemetry::reopen_app_log(); !reopened) {
        spdlog::error("SIGHUP: log.file stays the old file: {}", reopened.error().message);
      }
      if (access_log) {
        if (auto reopened = access_log->reopen(); !reopened) {
          spdlog::error("SIGHUP: log.access stays the old file: {}", reopened.error().message);
        }
      }
      auto reloaded = service->reload();
      if (reloaded) {
        spdlog::info("SIGHUP: {}", reloaded.value());
      } else {
        bc::telemetry::log_event(spdlog::level::err, {.error = "config"},
                                 "SIGHUP: " + reloaded.error().message);
      }
      bc::notify_ready("serving");
      await_hangup();
    });
  };
  await_hangup();
  std::thread signal_thread([&] { signals_ioc.run(); });

  for (const auto& w : bc::config::security_warnings(cfg, options.host)) spdlog::warn("{}", w);
  spdlog::info(
      "{}: {} model(s) active, {} worker thread(s), allocator: {}", bc::telemetry::version_line(),
      cfg.active_models().size(),
      options.threads > 0 ? options.threads : static_cast<int>(std::thread::hardware_concurrency()),
      bc::allocator_in_use());
  const std::string url = std::string(cfg.server.tls.enabled() ? "https" : "http") + "://" +
                          options.host + ":" + std::to_string(bound);
  std::cout << "balancedcall listening on " << url << std::endl;
  bc::notify_ready("listening on " + url);

  server.run();
  // Nothing is in flight any more: the ledger writes what is queued and the exact quota and
  // budget counts (usage/allowance.h) while the service that holds them is still alive.
  if (ledger) ledger->close();
  signals_ioc.stop();
  signal_thread.join();
  spdlog::info("stopped");
  return 0;
}

// What `--help` says after the options: enough to run it without the man page.
constexpr const char* kHelpFooter = R"(Commands:
  serve    listen for OpenAI (/v1/chat/completions, /v1/models) and native (/llm/*) calls;
           SIGHUP reopens the log files and reloads the config, SIGTERM stops after
           server.shutdown_grace_ms
  check    validate a config (exit 1 with every problem and its line) and print warnings;
           --connect also tries the Redis of state: (exit 1 when it cannot be used)
  probe    one minimal request through each key; what each answered
  usage    the usage ledger's sums (usage.path) by client, model, key, hour or day

Files:
  /etc/balancedcall/config.yaml   the config of the packaged service
  /etc/default/balancedcall       its secrets, as VAR=value lines for ${VAR} in the config
  /var/lib/balancedcall           the service's state directory (the usage store)

Exit status: 0 on success, 1 on a bad config, a port in use or a failed probe.
See balancedcall(1), /usr/share/doc/balancedcall and docs/configuration.md.)";

}  // namespace

int main(int argc, char** argv) {
  // Logs go to stderr until `serve` has read log.*; stdout carries only the "listening on"
  // line for scripts and tests.
  (void)bc::telemetry::configure_app_log({});
  std::signal(SIGPIPE, SIG_IGN);

  CLI::App app{"BalancedCall: one endpoint in front of many LLM API keys"};
  app.footer(kHelpFooter);
  app.set_version_flag("-V,--version", bc::telemetry::version_line());
  app.require_subcommand(1);
  std::string config_path;
  std::string host;
  int port = -1;

  auto* serve_cmd = app.add_subcommand("serve", "run the gateway");
  serve_cmd->add_option("-c,--config", config_path,
                        "YAML config file (default: the embedded demo config)");
  serve_cmd->add_option("--host", host, "listen address (overrides server.host)");
  serve_cmd
      ->add_option("-p,--port", port, "listen port; 0 picks a free one (overrides server.port)")
      ->check(CLI::Range(0, 65535));

  std::string probe_model;
  auto* probe_cmd = app.add_subcommand(
      "probe", "send one minimal request through each key and print what each answered");
  probe_cmd->add_option("-c,--config", config_path,
                        "YAML config file (default: the embedded demo config)");
  probe_cmd->add_option("-m,--model", probe_model, "probe only this model's keys");

  auto* check_cmd = app.add_subcommand("check", "validate a config file and exit");
  check_cmd->add_option("-c,--config", config_path, "YAML config file")->required();
  bool connect = false;
  check_cmd->add_flag(
      "--connect", connect,
      "also connect to the Redis of state: (AUTH, SELECT, PING) and say how it went");

  std::string usage_since = "7d";
  std::string usage_by = "model";
  bool usage_json = false;
  auto* usage_cmd =
      app.add_subcommand("usage", "print the usage ledger's sums (works while the gateway runs)");
  usage_cmd->add_option("-c,--config", config_path, "YAML config file (its usage.path)")
      ->required();
  usage_cmd->add_option("--since", usage_since,
                        "a span back from now (24h, 7d) or a time "
                        "(2025-01-31, 2025-01-31T12:00Z); default 7d");
  usage_cmd->add_option("--by", usage_by, "client, model, key, hour or day; default model");
  usage_cmd->add_flag("--json", usage_json, "one JSON object a line instead of the table");

  CLI11_PARSE(app, argc, argv);
  if (*serve_cmd) return serve(config_path, host, port);
  if (*probe_cmd) {
    Config cfg;
    auto gateway = build_gateway(config_path, cfg);
    return gateway ? bc::run_probe(gateway, probe_model) : 1;
  }
  if (*usage_cmd) {
    try {
      return bc::run_usage(bc::config::load_config_file(config_path), usage_since, usage_by,
                           usage_json);
    } catch (const std::exception& e) {
      std::cerr << e.what() << "\n";
      return 1;
    }
  }
  return check(config_path, connect);
}
