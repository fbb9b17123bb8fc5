// Client access to the API: the configured client keys (auth.client_keys), checked in
// constant time, with each client's allowed models and request rate. Shared by every worker
// thread.
#pragma once

#include <chrono>
#include <deque>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "config/config.h"
#include "core/clock.h"
#include "net/http_server.h"

namespace bc::api {

struct ClientKey {
  std::string name;
  std::string key;
  std::vector<std::string> models;  // empty: every model
  int rpm = 0;                      // 0: unlimited
  double weight = 1;                // its share of the admission queue
  int max_queued = 0;               // its requests waiting at once; 0: no cap of its own

  bool allows(std::string_view model) const;
};

class ClientAuth {
 public:
  explicit ClientAuth(const config::AuthConfig& config);

  bool enabled() const { return !clients_.empty(); }
  const std::vector<ClientKey>& clients() const { return clients_; }
  // The client whose key the request carries, in `Authorization: Bearer` or (as Anthropic's
  // clients send it) `x-api-key`; nullptr when none matches. Compares against every key, each
  // in constant time, whatever matches first.
  const ClientKey* authenticate(const net::HttpRequest& request) const;
  // Takes one request from the client's rate (a sliding 60 s window). nullopt: admitted;
  // otherwise how long until the window has room again.
  std::optional<std::chrono::milliseconds> admit(const ClientKey& client, TimePoint now);

 private:
  struct Window {
    std::mutex mutex;
    std::deque<TimePoint> starts;
  };
  std::vector<ClientKey> clients_;
  std::vector<std::unique_ptr<Window>> windows_;  // indexed like clients_
};

// The header Anthropic's clients send their key in.
inline constexpr std::string_view kApiKeyHeader = "x-api-key";

// Paths that need a client key when client keys are configured: /v1/* and /llm/*, except
// the health checks.
bool needs_client_key(std::string_view path);

}  // namespace bc::api
