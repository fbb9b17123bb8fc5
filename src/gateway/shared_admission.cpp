// One worker's admission against the shared limits (gateway/shared_admission.h).
#include "gateway/shared_admission.h"

#include "balance/key_load.h"
#include "core/time_zone.h"
#include "gateway/gateway.h"
#include "state/degraded.h"

namespace bc::gateway {

namespace asio = boost::asio;

namespace {

state::SharedLimits shared_limits(const balance::ModelSpec& spec) {
  return {spec.max_concurrency, spec.max_qps, spec.rpm, spec.tpm, spec.rpd, spec.tpd};
}

std::int64_t wall_now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// A day's counters are kept an hour past its end: an instance whose clock lags a little still
// finds them, and Redis holds no more than two days' per key.
constexpr std::int64_t kDayMarginMs = 3600 * 1000;

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

std::string shared_key_id(const std::string& model, const std::string& secret) {
  return model + "/" + state::script_sha1(secret).substr(0, 16);
}

SharedLease& SharedLease::operator=(SharedLease&& other) noexcept {
  if (this != &other) {
    release();
    owner_ = std::exchange(other.owner_, nullptr);
    id_ = other.id_;
  }
  return *this;
}

void SharedLease::release() {
  if (owner_ != nullptr) std::exchange(owner_, nullptr)->release(id_, nullptr, false);
}

void SharedLease::settle(const std::optional<Usage>& usage, bool ok) {
  if (owner_ != nullptr) std::exchange(owner_, nullptr)->release(id_, &usage, ok);
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
  const state::SharedLimits limits = shared_limits(spec);
  // A key with no limit of its own asks Redis only for its health marks (cooldown, breaker,
  // quarantine): one round trip too; with Redis down, nothing to share.
  if (!limits.any() && live_link() == nullptr) co_return Verdict{};
  const std::string& id = gateway.shared_id(target);
  if (live_link() != nullptr) {
    state::SharedDemand demand;
    demand.tokens = lease.reserved_tokens();
    std::int64_t wall_ms = 0;
    TimeWindow day;
    if (spec.rpd > 0 || spec.tpd > 0) {
      // The quota day by the model's reset hour and zone, as the local pool counts it; its
      // start names the day's counters in Redis.
      wall_ms = wall_now_ms();
      day = day_window(wall_ms, spec.quota_reset_hour, spec.quota_zone);
      demand.day_start_ms = day.start_ms;
      demand.day_ttl_ms = day.end_ms - wall_ms + kDayMarginMs;
    }
    std::string key = id;
    auto answer = co_await client_->admit(std::move(key), limits, demand);
    if (answer) {
      using Outcome = state::SharedAdmission::Outcome;
      if (answer->outcome == Outcome::kAdmitted) {
        if (spec.max_concurrency > 0 || limits.tokens()) {
          const std::uint64_t held_id = ++next_held_;
          Held held;
          held.key = id;
          held.lease = std::move(answer->lease);
          held.since = Clock::now();
          held.renewed = spec.max_concurrency > 0;
          held.capped = answer->capped;
          if (limits.tokens()) {
            held.reserved = demand.tokens;
            held.settlement = {answer->second, demand.day_start_ms, 0, spec.tpm > 0};
          }
          held_.emplace(held_id, std::move(held));
          out.release();
          out.owner_ = this;
          out.id_ = held_id;
        }
        co_return Verdict{};
      }
      Verdict refused;
      refused.admitted = false;
      refused.cooling = answer->outcome == Outcome::kCooling;
      refused.breaker_open = answer->outcome == Outcome::kBreakerOpen;
      refused.quarantined = answer->outcome == Outcome::kQuarantined;
      refused.retry_after =
          answer->outcome == Outcome::kConcurrencyFull ? kConcurrencyPoll : answer->retry_after;
      if (answer->outcome == Outcome::kQuotaFull) {
        // Until the day ends; the key is at quota here too only when its day is used up (a
        // request whose estimate alone does not fit leaves it to smaller ones).
        refused.quota = answer->day_used_up;
        refused.retry_after =
            std::chrono::milliseconds(std::max<std::int64_t>(1, day.end_ms - wall_ms));
      }
      co_return refused;
    }
    // A failed or slow call ended the link (the session reconnects with backoff): this
    // request is admitted as if Redis were down.
  }
  co_return admit_degraded(gateway, lease, id);
}

SharedAdmission::Verdict SharedAdmission::admit_degraded(const Gateway& gateway,
                                                         const balance::Lease& lease,
                                                         const std::string& id) {
  const auto target = lease.target();
  const auto& spec = gateway.pool().model(target.model);
  const auto& load = gateway.pool().load(target);
  const auto now = Clock::now();
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
  // The pool's windows and quota day count this instance's use (the day's from the ledger's
  // read-back at startup on), this admission included: each is held to its share. A request
  // reserving more tokens than the share still runs alone, as on an empty window.
  const std::int64_t reserved = lease.reserved_tokens();
  refused.retry_after = kDegradedRatePoll;
  if (spec.rpm > 0 && load.rpm_used(now) > state::local_share(spec.rpm, live)) return refused;
  if (spec.tpm > 0) {
    const std::int64_t used = load.tpm_used(now);
    if (used > state::local_share(spec.tpm, live) && used > reserved) return refused;
  }
  if (spec.rpd > 0 || spec.tpd > 0) {
    const balance::QuotaUse use = load.quota_use();
    if ((spec.rpd > 0 && use.requests > state::local_share(spec.rpd, live)) ||
        (spec.tpd > 0 && use.tokens > state::local_share(spec.tpd, live) &&
         use.tokens > reserved)) {
      return refused;
    }
  }
  refused.retry_after = kConcurrencyPoll;
  if (spec.max_qps > 0 && !state_->take_local_rate(id, state::local_rate_share(spec.max_qps, live),
                                                   now, refused.retry_after)) {
    return refused;
  }
  return Verdict{};
}

void SharedAdmission::cool(const Gateway& gateway, balance::Target target,
                           std::chrono::milliseconds length) {
  if (live_link() == nullptr) return;
  client_->cool(gateway.shared_id(target), length);
}

void SharedAdmission::failed(const Gateway& gateway, balance::Target target,
                             const balance::Outcome& outcome) {
  const bool quarantined = outcome.action == KeyAction::kDisable;
  if ((!outcome.fault && !quarantined && !outcome.concurrency_limited) || live_link() == nullptr)
    return;
  const auto& spec = gateway.pool().model(target.model);
  const std::string& id = gateway.shared_id(target);
  // A key without max_concurrency learns its lowered limit from what runs on this instance,
  // which Redis does not count: that one stays local.
  if (outcome.concurrency_limited && spec.max_concurrency > 0)
    client_->lower_concurrency(id, spec.max_concurrency, kLoweredConcurrency);
  if (quarantined) {
    client_->quarantine(id, kQuarantineMark);
    return;
  }
  // A fault that left the breaker open (this one opened it, or one admitted before it opened):
  // the others hold it open for the time it has left here.
  const auto& breaker = gateway.pool().load(target).breaker();
  const auto now = Clock::now();
  const auto until = breaker.open_until();
  if (breaker.state(now) != balance::Breaker::State::kOpen || !until) return;
  // Rounded up: the others never end it before this instance does.
  client_->open_breaker(id, std::chrono::ceil<std::chrono::milliseconds>(*until - now));
}

void SharedAdmission::lift(const Gateway& gateway, balance::Target target) {
  lift_ids({gateway.shared_id(target)});
}

std::vector<std::string> SharedAdmission::quarantined_ids(const balance::Pool& pool) {
  std::vector<std::string> ids;
  for (std::size_t m = 0; m < pool.model_count(); ++m) {
    const auto& spec = pool.model(m);
    for (std::size_t k = 0; k < spec.keys.size(); ++k) {
      const balance::Target target{static_cast<std::uint32_t>(m), static_cast<std::uint32_t>(k)};
      if (pool.load(target).disabled())
        ids.push_back(shared_key_id(spec.name, spec.keys[k].secret));
    }
  }
  return ids;
}

void SharedAdmission::lift_ids(const std::vector<std::string>& ids) {
  if (live_link() == nullptr) return;
  for (const auto& id : ids) client_->lift(id);
}

asio::awaitable<std::optional<SharedAdmission::InFlight>> SharedAdmission::in_flight(
    const Gateway& gateway, std::vector<std::size_t> models) {
  if (live_link() == nullptr) co_return std::nullopt;
  const auto& pool = gateway.pool();
  InFlight out(pool.model_count());
  std::vector<std::string> ids;
  std::vector<std::pair<std::size_t, std::size_t>> where;
  for (const std::size_t m : models) {
    const auto& spec = pool.model(m);
    out[m].assign(spec.keys.size(), -1);
    if (spec.max_concurrency <= 0) continue;
    for (std::size_t k = 0; k < spec.keys.size(); ++k) {
      ids.push_back(
          gateway.shared_id({static_cast<std::uint32_t>(m), static_cast<std::uint32_t>(k)}));
      where.emplace_back(m, k);
    }
  }
  if (ids.empty()) co_return out;
  auto counts = co_await client_->in_flight(std::move(ids));
  if (!counts) co_return std::nullopt;
  for (std::size_t i = 0; i < where.size(); ++i) {
    out[where[i].first][where[i].second] = static_cast<int>((*counts)[i]);
  }
  co_return out;
}

void SharedAdmission::release(std::uint64_t id, const std::optional<Usage>* usage, bool ok) {
  const auto it = held_.find(id);
  if (it == held_.end()) return;
  Held& held = it->second;
  // Not waited for. With Redis down the slot expires there on its own, and the reservation
  // stays as estimated.
  if (live_link() != nullptr) {
    if (held.reserved >= 0 && usage != nullptr && usage->has_value()) {
      // The real use replaces the reservation, as the local pool's settle does.
      const Usage& u = **usage;
      const std::int64_t used =
          u.total_tokens > 0 ? u.total_tokens : u.prompt_tokens + u.completion_tokens;
      held.settlement.delta = used - held.reserved;
      client_->settle(held.key, held.lease, held.settlement);
    } else if (held.renewed) {
      client_->release(held.key, held.lease);
    }
    // A success under the lowered concurrency restores the configured one, as locally.
    if (ok && held.capped) client_->restore_concurrency(held.key);
  }
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
    if (!held.renewed || held.since > due) continue;
    client_->renew(held.key, held.lease);
    held.since = now;
  }
}

}  // namespace bc::gateway
