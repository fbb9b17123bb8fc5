// The gateway's shared state for one config: every model's provider adapter, credentials and
// timeouts, and the balance pool. Built once from a validated config; immutable afterwards
// except for the pool's live load, which is thread-safe. Shared by all worker threads.
#pragma once

#include <atomic>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "balance/pool.h"
#include "config/config.h"
#include "core/result.h"
#include "gateway/admission.h"
#include "gateway/call_plan.h"
#include "gateway/credential_cache.h"
#include "net/upstream.h"
#include "providers/provider.h"

namespace bc::gateway {

struct ModelRuntime {
  const config::ModelConfig* config = nullptr;
  std::unique_ptr<providers::Provider> provider;
  std::vector<providers::Credential> credentials;  // index = key index in the pool
  // Each key's name in the shared state (shared_key_id), with state: redis; else empty.
  std::vector<std::string> shared_ids;
  net::Timeouts timeouts;
  std::chrono::milliseconds total_timeout{0};  // the whole request, retries and stream included
  net::TlsPolicy tls;                          // the model's tls_verify and ca_file
};

class Gateway {
 public:
  // Errors name the config file, line and field (unknown provider, unknown strategy, ...).
  // `previous`: the gateway this one replaces on a reload; keys in both keep their live state
  // (see balance::Pool::create).
  static Result<std::unique_ptr<Gateway>> create(std::shared_ptr<const config::Config> config,
                                                 Gateway* previous = nullptr);

  const config::Config& config() const { return *config_; }
  balance::Pool& pool() { return *pool_; }
  const balance::Pool& pool() const { return *pool_; }
  // Indexed like the pool's models.
  const ModelRuntime& model(std::size_t index) const { return models_[index]; }
  // The key's name in the shared state (state: redis only).
  const std::string& shared_id(balance::Target target) const {
    return models_[target.model].shared_ids[target.key];
  }
  std::size_t model_count() const { return models_.size(); }
  // What a call's plan needs of each model (indexed like the pool's), and the retry rules.
  const std::vector<ModelBudget>& budgets() const { return budgets_; }
  const PlanSettings& plan_settings() const { return plan_settings_; }
  AdmissionQueue& queue() { return *queue_; }
  CredentialCache& credentials() { return credentials_; }
  const AdmissionQueue& queue() const { return *queue_; }
  // How long a request for `demand` may wait for a free key: the named model's
  // queue_timeout_ms when set, else the global queue.timeout_ms.
  std::chrono::milliseconds queue_timeout(const balance::Demand& demand) const;

  // After a reload: a lease of this generation that ends frees a slot the successor's waiters
  // may be able to use (the key is shared), so they are woken too.
  void hand_over_to(const std::shared_ptr<Gateway>& successor);

 private:
  Gateway() = default;
  std::shared_ptr<const config::Config> config_;
  std::unique_ptr<balance::Pool> pool_;
  std::vector<ModelRuntime> models_;
  bool names_shared_keys_ = false;  // ModelRuntime::shared_ids filled
  std::vector<ModelBudget> budgets_;
  PlanSettings plan_settings_;
  std::unique_ptr<AdmissionQueue> queue_;
  CredentialCache credentials_;

  void on_release(balance::Target freed);
  void wake_model(std::string_view name);
  std::atomic<bool> handed_over_{false};
  std::mutex successor_mutex_;
  std::weak_ptr<Gateway> successor_;
};

}  // namespace bc::gateway
