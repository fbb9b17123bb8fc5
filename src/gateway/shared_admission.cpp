// One worker's admission against the shared limits (gateway/shared_admission.h).
#include "gateway/shared_admission.h"

#include "gateway/gateway.h"
#include "state/degraded.h"

namespace bc::gateway {

namespace asio = boost::asio;

namespace {

// A key's name in Redis: its model and a digest of its secret (never the secret, and not the
// public id, which two keys' masked forms may share). Every instance with the same config
// computes the same name, so they count the same key together.
std::string redis_key_id(const std::string& model, const std::string& secret) {
  return model + "/" + state::script_sha1(secret).substr(0, 16);
}

state::RedisSessionOptions session_options(const SharedState& state) {
  state::RedisSessionOptions o;
  o.endpoint = state.config().redis;
  o.timeout = std::chrono::milliseconds(state.config().timeout_ms);
  o.key_prefix = state.config().key_prefix;
  // Every worker beats with the instance's id: the live count is of instances, not workers.
  o.instance_id = state.instance_id();
  return o;
}

}  // namespace

SharedLease& SharedLease::operator=(SharedLease&& other) noexcept {
  if (this != &other) {
    release();
    owner_ = std::exchange(other.owner_, nullptr);
    id_ = other.id_;
  }
  return *this;
}

void SharedLease::release() {
  if (owner_ != nullptr) std::exchange(owner_, nullptr)->release(id_);
}

SharedAdmission::SharedAdmission(std::shared_ptr<SharedState> state, asio::any_io_executor executor)
    : state_(std::move(state)),
      executor_(std::move(executor)),
      renew_timer_(executor_),
      tag_(state_->worker_joined()) {}

SharedAdmission::~SharedAdmission() {
  // Slots still held (requests cut at the end of a shutdown's grace) are not released from
  // here, after the worker's loop stopped: they expire in Redis within the lease time.
  if (session_) session_->stop();
  state_->worker_left(up_);
}

void SharedAdmission::start() {
  std::weak_ptr<SharedAdmission> weak = weak_from_this();
  session_ = std::make_shared<state::RedisSession>(
      executor_, session_options(*state_), [weak](bool up, const std::string& why) {
        auto self = weak.lock();
        if (!self) return;
        self->state_->worker_changed(self->up_, up, why);
        self->up_ = up;
      });
  session_->start();
  schedule_renewals();
}

state::RedisLink* SharedAdmission::live_link() {
  state::RedisLink* link = session_ ? session_->link() : nullptr;
  if (link == nullptr || !link->up()) return nullptr;
  if (!client_) {
    // Lease ids are unique per worker: the instance's id and this worker's tag.
    client_.emplace(*link, state_->config().key_prefix,
                    state_->instance_id() + "." + std::to_string(tag_), state_->lease_time());
  } else if (client_->link() != link) {
    client_->rebind(*link);
  }
  return link;
}

asio::awaitable<SharedAdmission::Verdict> SharedAdmission::admit(const Gateway& gateway,
                                                                 const balance::Lease& lease,
                                                                 SharedLease& out) {
  const auto target = lease.target();
  const auto& spec = gateway.pool().model(target.model);
  if (spec.max_concurrency <= 0 && spec.max_qps <= 0) co_return Verdict{};
  const std::string id = redis_key_id(spec.name, spec.keys[target.key].secret);
  if (live_link() != nullptr) {
    const state::SharedLimits limits{spec.max_concurrency, spec.max_qps};
    std::string key = id;
    auto answer = co_await client_->admit(std::move(key), limits);
    if (answer) {
      if (answer->outcome == state::SharedAdmission::Outcome::kAdmitted) {
        if (spec.max_concurrency > 0) {
          const std::uint64_t held = ++next_held_;
          held_.emplace(held, Held{id, std::move(answer->lease), Clock::now()});
          out.release();
          out.owner_ = this;
          out.id_ = held;
        }
        co_return Verdict{};
      }
      Verdict refused;
      refused.admitted = false;
      refused.cooling = answer->outcome == state::SharedAdmission::Outcome::kCooling;
      refused.retry_after = answer->outcome == state::SharedAdmission::Outcome::kConcurrencyFull
                                ? kConcurrencyPoll
                                : answer->retry_after;
      co_return refused;
    }
    // A failed or slow call ended the link (the session reconnects with backoff): this
    // request is admitted as if Redis were down.
  }
  co_return admit_degraded(gateway, target, id);
}

SharedAdmission::Verdict SharedAdmission::admit_degraded(const Gateway& gateway,
                                                         balance::Target target,
                                                         const std::string& id) {
  const auto& spec = gateway.pool().model(target.model);
  // The instances alive at the last heartbeat; before any, this one alone.
  const state::LiveView live = session_ ? session_->live() : state::LiveView{};
  Verdict refused;
  refused.admitted = false;
  refused.retry_after = kConcurrencyPoll;
  // The pool's count is this instance's (every worker), the local slot just taken included.
  if (spec.max_concurrency > 0 &&
      gateway.pool().in_flight(target) > state::local_share(spec.max_concurrency, live)) {
    return refused;
  }
  if (spec.max_qps > 0 && !state_->take_local_rate(id, state::local_rate_share(spec.max_qps, live),
                                                   Clock::now(), refused.retry_after)) {
    return refused;
  }
  return Verdict{};
}

void SharedAdmission::cool(const Gateway& gateway, balance::Target target,
                           std::chrono::milliseconds length) {
  const auto& spec = gateway.pool().model(target.model);
  // Only keys admitted in Redis read the shared cooldown (the admission script checks it).
  if (spec.max_concurrency <= 0 && spec.max_qps <= 0) return;
  if (live_link() == nullptr) return;
  client_->cool(redis_key_id(spec.name, spec.keys[target.key].secret), length);
}

void SharedAdmission::release(std::uint64_t id) {
  const auto it = held_.find(id);
  if (it == held_.end()) return;
  // Not waited for. With Redis down the slot expires there on its own.
  if (live_link() != nullptr) client_->release(it->second.key, it->second.lease);
  held_.erase(it);
}

void SharedAdmission::schedule_renewals() {
  renew_timer_.expires_after(state_->lease_time() / 3);
  std::weak_ptr<SharedAdmission> weak = weak_from_this();
  renew_timer_.async_wait([weak](const boost::system::error_code& ec) {
    if (ec) return;
    auto self = weak.lock();
    if (!self) return;
    self->renew_due();
    self->schedule_renewals();
  });
}

void SharedAdmission::renew_due() {
  if (held_.empty() || live_link() == nullptr) return;
  // Slots held for a sixth of the lease time or more: short requests never cost a renewal,
  // and a slot is renewed at most half a tick late, two thirds of its lease before expiry
  // (ample for a loop delayed on a loaded machine).
  const auto now = Clock::now();
  const auto due = now - state_->lease_time() / 6;
  for (auto& [id, held] : held_) {
    if (held.since > due) continue;
    client_->renew(held.key, held.lease);
    held.since = now;
  }
}

}  // namespace bc::gateway
