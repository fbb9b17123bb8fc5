// The gateway's shared state for one config: every model's provider adapter, credentials and
// timeouts, and the balance pool. Built once from a validated config; immutable afterwards
// except for the pool's live load, which is thread-safe. Shared by all worker threads.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "balance/pool.h"
#include "config/config.h"
#include "core/result.h"
#include "net/upstream.h"
#include "providers/provider.h"

namespace bc::gateway {

struct ModelRuntime {
  const config::ModelConfig* config = nullptr;
  std::unique_ptr<providers::Provider> provider;
  std::vector<providers::Credential> credentials;  // index = key index in the pool
  net::Timeouts timeouts;
};

class Gateway {
 public:
  // Errors name the config file, line and field (unknown provider, unknown strategy, ...).
  static Result<std::unique_ptr<Gateway>> create(std::shared_ptr<const config::Config> config);

  const config::Config& config() const { return *config_; }
  balance::Pool& pool() { return *pool_; }
  const balance::Pool& pool() const { return *pool_; }
  // Indexed like the pool's models.
  const ModelRuntime& model(std::size_t index) const { return models_[index]; }
  std::size_t model_count() const { return models_.size(); }

 private:
  Gateway() = default;
  std::shared_ptr<const config::Config> config_;
  std::unique_ptr<balance::Pool> pool_;
  std::vector<ModelRuntime> models_;
};

}  // namespace bc::gateway
