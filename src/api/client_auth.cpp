#include "api/client_auth.h"

#include <algorithm>

#include "api/load_api.h"

namespace bc::api {

bool ClientKey::allows(std::string_view model) const {
  return models.empty() || std::find(models.begin(), models.end(), model) != models.end();
}

ClientAuth::ClientAuth(const config::AuthConfig& config) {
  for (const auto& c : config.client_keys) {
    clients_.push_back(ClientKey{c.name, c.key, c.models, c.rpm, c.weight, c.max_queued});
    windows_.push_back(std::make_unique<Window>());
  }
}

namespace {
// `given` equals `key`, compared in constant time in the key's content.
bool same_key(std::string_view given, std::string_view key) {
  unsigned char diff = given.size() == key.size() ? 0 : 1;
  for (std::size_t i = 0; i < key.size(); ++i) {
    const char g = i < given.size() ? given[i] : 0;
    diff |= static_cast<unsigned char>(g ^ key[i]);
  }
  return diff == 0;
}
}  // namespace

const ClientKey* ClientAuth::authenticate(const net::HttpRequest& request) const {
  const ClientKey* found = nullptr;
  const std::string_view api_key = request[kApiKeyHeader];
  for (const auto& c : clients_) {
    // No early exit: the time taken does not tell which key (if any) matched. Both headers
    // are compared whichever carries the key.
    const bool by_header = !api_key.empty() && same_key(api_key, c.key);
    const bool match = bearer_matches(request, c.key) || by_header;
    found = match ? &c : found;
  }
  return found;
}

std::optional<std::chrono::milliseconds> ClientAuth::admit(const ClientKey& client, TimePoint now) {
  if (client.rpm <= 0) return std::nullopt;
  auto& w = *windows_[static_cast<std::size_t>(&client - clients_.data())];
  constexpr auto kWindow = std::chrono::seconds(60);
  std::lock_guard lock(w.mutex);
  while (!w.starts.empty() && now - w.starts.front() >= kWindow) w.starts.pop_front();
  if (static_cast<int>(w.starts.size()) >= client.rpm) {
    return std::chrono::ceil<std::chrono::milliseconds>(w.starts.front() + kWindow - now);
  }
  w.starts.push_back(now);
  return std::nullopt;
}

bool needs_client_key(std::string_view path) {
  if (path == "/llm/health") return false;
  return path.starts_with("/v1/") || path.starts_with("/llm/") || path == "/v1" || path == "/llm";
}

}  // namespace bc::api
