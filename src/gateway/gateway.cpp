#include "gateway/gateway.h"

#include "core/mask.h"
#include "gateway/shared_admission.h"
#include "providers/registry.h"

namespace bc::gateway {

namespace {

Error config_error(const config::Config& cfg, const config::ModelConfig& m, std::string field,
                   std::string message) {
  return Error::invalid_request(cfg.source + ":" + std::to_string(m.line) + ": models." + m.name +
                                    "." + field + ": " + message,
                                "invalid_config");
}

std::chrono::milliseconds pick(int model_ms, int global_ms) {
  return std::chrono::milliseconds(model_ms > 0 ? model_ms : global_ms);
}

}  // namespace

Result<std::unique_ptr<Gateway>> Gateway::create(std::shared_ptr<const config::Config> config,
                                                 Gateway* previous) {
  std::unique_ptr<Gateway> gw(new Gateway());
  gw->config_ = std::move(config);
  const auto& cfg = *gw->config_;

  std::vector<balance::ModelSpec> specs;
  gw->plan_settings_.max_model_failovers = cfg.retry.max_model_failovers;
  gw->plan_settings_.backoff = std::chrono::milliseconds(cfg.retry.backoff_ms);
  gw->plan_settings_.backoff_max = std::chrono::milliseconds(cfg.retry.backoff_max_ms);
  // The state backend is chosen at startup: a reload that turns Redis off keeps it running
  // (a change to `state` needs a restart), so its successors name the keys too.
  gw->names_shared_keys_ =
      cfg.state.redis_enabled() || (previous != nullptr && previous->names_shared_keys_);
  for (const auto* m : cfg.active_models()) {
    providers::ProviderOptions options;
    options.model_name = m->name;
    options.upstream_model = m->model.empty() ? m->name : m->model;
    options.base_url = m->base_url;
    options.default_temperature = m->default_temperature;
    options.supports_tools = m->supports_tools;
    options.own_options = m->own_options;
    auto provider = providers::make_provider(m->provider, std::move(options));
    if (!provider) return config_error(cfg, *m, "provider", provider.error().message);
    if (m->embeddings && !(*provider)->embeds()) {
      return config_error(cfg, *m, "embeddings",
                          "provider '" + m->provider +
                              "' cannot embed (embedding providers: openai and every "
                              "OpenAI-compatible upstream, zhipu, gemini, ollama, mock)");
    }

    ModelRuntime rt;
    rt.config = m;
    rt.provider = std::move(provider).value();
    rt.timeouts.connect = pick(m->connect_timeout_ms, cfg.upstream.connect_timeout_ms);
    rt.timeouts.first_byte = pick(m->first_byte_timeout_ms, cfg.upstream.first_byte_timeout_ms);
    rt.timeouts.idle = pick(m->idle_timeout_ms, cfg.upstream.idle_timeout_ms);
    rt.total_timeout = pick(m->total_timeout_ms, cfg.retry.total_timeout_ms);
    rt.tls.verify = m->tls_verify;
    rt.tls.ca_file = m->ca_file;

    balance::ModelSpec spec;
    spec.name = m->name;
    // An embedding model never takes a chat request that names no model: weight 0 is served
    // only when named, and the chat route refuses naming it.
    const double weight = m->embeddings ? 0.0 : m->model_weight;
    spec.weight = weight;
    spec.strategy = m->strategy;
    spec.max_concurrency = m->max_concurrency;
    spec.max_qps = m->max_qps;
    spec.rpm = m->rpm;
    spec.tpm = m->tpm;
    spec.rpd = m->rpd;
    spec.tpd = m->tpd;
    spec.quota_reset_hour = m->quota_reset_hour;
    spec.quota_zone = m->quota_time_zone;
    spec.decay_factor = m->decay_factor;
    spec.auto_weight = m->auto_weight;
    spec.cooldown = std::chrono::milliseconds(m->cooldown_ms);
    spec.queue_timeout = std::chrono::milliseconds(m->queue_timeout_ms >= 0 ? m->queue_timeout_ms
                                                                            : cfg.queue.timeout_ms);
    spec.supports_tools = m->supports_tools;
    spec.breaker.failures = m->breaker.failures;
    spec.breaker.window = std::chrono::milliseconds(m->breaker.window_ms);
    spec.breaker.open_for = std::chrono::milliseconds(m->breaker.open_ms);
    for (const auto& k : m->api_keys) {
      providers::Credential cred;
      cred.secret = k.key;
      cred.id = k.name.empty() ? mask_secret(k.key) : k.name;
      spec.keys.push_back({k.key, cred.id, k.weight});
      rt.credentials.push_back(std::move(cred));
    }
    if (spec.keys.empty()) {
      // A key-less model (the built-in mock) still needs one slot to balance on.
      spec.keys.push_back({"", m->name, 1});
      rt.credentials.push_back({"", m->name});
    }
    // A digest per key, once here: per request it cost a hash (OpenSSL's) on every admission.
    if (gw->names_shared_keys_) {
      rt.shared_ids.reserve(spec.keys.size());
      for (const auto& key : spec.keys)
        rt.shared_ids.push_back(shared_key_id(spec.name, key.secret));
    }
    ModelBudget budget;
    budget.weight = weight;
    budget.supports_tools = m->supports_tools;
    budget.keys = spec.keys.size();
    budget.max_retries = m->max_retries;
    budget.total_timeout = rt.total_timeout;
    gw->budgets_.push_back(budget);
    specs.push_back(std::move(spec));
    gw->models_.push_back(std::move(rt));
  }

  auto pool = balance::Pool::create(std::move(specs),
                                    previous != nullptr ? previous->pool_.get() : nullptr);
  if (!pool) {
    return Error::invalid_request(cfg.source + ": " + pool.error().message, "invalid_config");
  }
  gw->pool_ = std::move(pool).value();
  gw->queue_ = std::make_unique<AdmissionQueue>(*gw->pool_, cfg.queue.max_waiting);
  auto* self = gw.get();
  gw->pool_->set_release_listener([self](balance::Target freed) { self->on_release(freed); });
  return gw;
}

void Gateway::on_release(balance::Target freed) {
  queue_->notify(freed);
  if (handed_over_.load(std::memory_order_acquire)) wake_model(pool_->model(freed.model).name);
}

void Gateway::wake_model(std::string_view name) {
  std::shared_ptr<Gateway> next;
  {
    std::lock_guard lock(successor_mutex_);
    next = successor_.lock();
  }
  if (!next) return;
  if (const auto m = next->pool_->find_model(name)) {
    next->queue_->notify(balance::Target{static_cast<std::uint32_t>(*m), 0});
  }
  if (next->handed_over_.load(std::memory_order_acquire)) next->wake_model(name);
}

void Gateway::hand_over_to(const std::shared_ptr<Gateway>& successor) {
  {
    std::lock_guard lock(successor_mutex_);
    successor_ = successor;
  }
  handed_over_.store(true, std::memory_order_release);
}

std::chrono::milliseconds Gateway::queue_timeout(const balance::Demand& demand) const {
  if (demand.model) return pool_->model(*demand.model).queue_timeout;
  return std::chrono::milliseconds(config_->queue.timeout_ms);
}

}  // namespace bc::gateway
