// Shared limits through Redis scripts (state/shared_limits.h).
#include "state/shared_limits.h"

#include <openssl/evp.h>

#include <algorithm>

#include "state/admission_script.h"
#include "state/budget_script.h"

namespace bc::state {

namespace asio = boost::asio;

namespace {

// The kinds of a key's names in Redis: prefix, kind, the key's stable id.
constexpr std::string_view kLeases = "lease:";
constexpr std::string_view kWindow = "qps:";
constexpr std::string_view kCooldown = "cool:";
constexpr std::string_view kBreaker = "open:";
constexpr std::string_view kQuarantine = "quar:";
constexpr std::string_view kCap = "cap:";
constexpr std::string_view kRpm = "rpm:";
constexpr std::string_view kTpm = "tpm:";
constexpr std::string_view kDay = "day:";

std::string key_name(std::string_view prefix, std::string_view kind, std::string_view key) {
  std::string out;
  out.reserve(prefix.size() + kind.size() + key.size());
  out.append(prefix).append(kind).append(key);
  return out;
}

}  // namespace

RateWindow rate_window_for(double max_qps) {
  if (max_qps <= 0) return {};
  // 2.5 qps allows 2 in any second: never more than the configured rate.
  if (max_qps >= 1) return {static_cast<int>(max_qps), 1000};
  return {1, static_cast<long long>(1000.0 / max_qps + 0.5)};
}

std::string script_sha1(std::string_view script) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int size = 0;
  EVP_Digest(script.data(), script.size(), digest, &size, EVP_sha1(), nullptr);
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  out.reserve(size * 2);
  for (unsigned int i = 0; i < size; ++i) {
    out += kHex[digest[i] >> 4];
    out += kHex[digest[i] & 0xf];
  }
  return out;
}

SharedLimitsClient::SharedLimitsClient(RedisLink& link, std::string key_prefix,
                                       std::string instance_id,
                                       std::chrono::milliseconds lease_time)
    : link_(&link),
      prefix_(std::move(key_prefix)),
      instance_id_(std::move(instance_id)),
      lease_time_(lease_time),
      admit_sha_(script_sha1(kAdmitScript)),
      renew_sha_(script_sha1(kRenewScript)),
      budget_sha_(script_sha1(kBudgetTakeScript)),
      in_flight_sha_(script_sha1(kInFlightScript)) {}

std::string SharedLimitsClient::leases_key(std::string_view key) const {
  return key_name(prefix_, kLeases, key);
}

std::string SharedLimitsClient::window_key(std::string_view key) const {
  return key_name(prefix_, kWindow, key);
}

std::string SharedLimitsClient::cooldown_key(std::string_view key) const {
  return key_name(prefix_, kCooldown, key);
}

std::string SharedLimitsClient::breaker_key(std::string_view key) const {
  return key_name(prefix_, kBreaker, key);
}

std::string SharedLimitsClient::quarantine_key(std::string_view key) const {
  return key_name(prefix_, kQuarantine, key);
}

std::string SharedLimitsClient::cap_key(std::string_view key) const {
  return key_name(prefix_, kCap, key);
}

std::string SharedLimitsClient::rpm_key(std::string_view key) const {
  return key_name(prefix_, kRpm, key);
}

std::string SharedLimitsClient::tpm_key(std::string_view key) const {
  return key_name(prefix_, kTpm, key);
}

std::string SharedLimitsClient::day_key(std::string_view key, std::int64_t day_start_ms) const {
  return key_name(prefix_, kDay, key) + ":" + std::to_string(day_start_ms);
}

std::string SharedLimitsClient::budget_key(std::string_view client, std::string_view period,
                                           std::int64_t start_ms) const {
  return prefix_ + "budget:" + std::string(client) + ":" + std::string(period) + ":" +
         std::to_string(start_ms);
}

// EVALSHA first (the script is not sent each time); a Redis that does not know the script
// (restarted, or SCRIPT FLUSH) gets it once with EVAL, which also caches it.
asio::awaitable<Result<RedisReply>> SharedLimitsClient::run_script(std::string_view script,
                                                                   const std::string& sha,
                                                                   const RespArgs& keys_and_args,
                                                                   std::size_t key_count) {
  const Decimal count(static_cast<std::int64_t>(key_count));
  RespCommand by_sha = resp_command({"EVALSHA", sha, count.view()}, keys_and_args);
  auto answer = co_await link_->command(std::move(by_sha));
  if (!answer || !answer->is_error() || !answer->text.starts_with("NOSCRIPT")) co_return answer;
  RespCommand whole = resp_command({"EVAL", script, count.view()}, keys_and_args);
  co_return co_await link_->command(std::move(whole));
}

asio::awaitable<Result<SharedAdmission>> SharedLimitsClient::admit(std::string key,
                                                                   SharedLimits limits,
                                                                   SharedDemand demand) {
  std::string lease = instance_id_ + ":" + std::to_string(++next_lease_);
  const RateWindow rate = rate_window_for(limits.max_qps);
  const bool daily = (limits.rpd > 0 || limits.tpd > 0) && demand.day_start_ms != 0;
  const Decimal day_start(daily ? demand.day_start_ms : 0);
  RespArgs keys_and_args;
  keys_and_args.add_joined({prefix_, kLeases, key})
      .add_joined({prefix_, kWindow, key})
      .add_joined({prefix_, kCooldown, key})
      .add_joined({prefix_, kRpm, key})
      .add_joined({prefix_, kTpm, key})
      .add_joined({prefix_, kDay, key, ":", day_start.view()})
      .add_joined({prefix_, kBreaker, key})
      .add_joined({prefix_, kQuarantine, key})
      .add_joined({prefix_, kCap, key})
      .add(std::int64_t{limits.max_concurrency})
      .add(std::int64_t{lease_time_.count()})
      .add(std::int64_t{rate.admissions})
      .add(std::int64_t{rate.window_ms})
      .add(lease)
      .add(limits.rpm)
      .add(limits.tpm)
      .add(daily ? limits.rpd : 0)
      .add(daily ? limits.tpd : 0)
      .add(std::max<std::int64_t>(demand.tokens, 0))
      .add(std::max<std::int64_t>(demand.day_ttl_ms, 1000));
  auto answer = co_await run_script(kAdmitScript, admit_sha_, keys_and_args, 9);
  if (!answer) co_return std::move(answer).error();
  const RedisReply& r = *answer;
  if (r.type != RedisReply::Type::kArray || r.elements.size() < 4) {
    const std::string what = r.is_error() ? r.text : std::string("an unexpected answer");
    co_return Error::unavailable("Redis admission script: " + what, "state_unavailable");
  }
  SharedAdmission out;
  out.in_flight = r.elements[1].integer;
  out.capped = r.elements.size() > 4 && r.elements[4].integer != 0;
  switch (r.elements[0].integer) {
    case 1:
      out.outcome = SharedAdmission::Outcome::kAdmitted;
      // A key without limits took nothing: no lease to release.
      if (limits.any()) out.lease = std::move(lease);
      out.second = r.elements[3].integer;
      break;
    case 0:
      out.outcome = SharedAdmission::Outcome::kConcurrencyFull;
      break;
    case -2:
      out.outcome = SharedAdmission::Outcome::kCooling;
      out.retry_after = std::chrono::milliseconds(r.elements[2].integer);
      break;
    case -4:
      out.outcome = SharedAdmission::Outcome::kBreakerOpen;
      out.retry_after = std::chrono::milliseconds(r.elements[2].integer);
      break;
    case -5:
      out.outcome = SharedAdmission::Outcome::kQuarantined;
      out.retry_after = std::chrono::milliseconds(r.elements[2].integer);
      break;
    case -3:
      out.outcome = SharedAdmission::Outcome::kQuotaFull;
      out.day_used_up = r.elements[2].integer != 0;
      break;
    default:
      out.outcome = SharedAdmission::Outcome::kRateFull;
      out.retry_after = std::chrono::milliseconds(r.elements[2].integer);
  }
  co_return out;
}

bool SharedLimitsClient::release(std::string_view key, std::string_view lease) {
  RespArgs args;
  args.add_joined({prefix_, kLeases, key}).add(lease);
  return link_->send(resp_command({"ZREM"}, args));
}

bool SharedLimitsClient::settle(std::string_view key, std::string_view lease,
                                const SharedSettlement& settlement) {
  // EVAL, not EVALSHA: an answer is not awaited, so a NOSCRIPT could not be retried.
  RespArgs args;
  args.add_joined({prefix_, kLeases, key})
      .add_joined({prefix_, kTpm, key})
      .add_joined({prefix_, kDay, key, ":", Decimal(settlement.day_start_ms).view()})
      .add(lease)
      .add(settlement.second)
      .add(settlement.delta)
      .add(settlement.tpm ? "1" : "0");
  return link_->send(resp_command({"EVAL", kSettleScript, "3"}, args));
}

asio::awaitable<Result<std::vector<long long>>> SharedLimitsClient::in_flight(
    std::vector<std::string> keys) {
  const std::size_t count = keys.size();
  RespArgs leases;
  for (const auto& key : keys) leases.add_joined({prefix_, kLeases, key});
  auto answer = co_await run_script(kInFlightScript, in_flight_sha_, leases, count);
  if (!answer) co_return std::move(answer).error();
  if (answer->type != RedisReply::Type::kArray || answer->elements.size() != count) {
    const std::string what =
        answer->is_error() ? answer->text : std::string("an unexpected answer");
    co_return Error::unavailable("Redis in-flight script: " + what, "state_unavailable");
  }
  std::vector<long long> out;
  out.reserve(count);
  for (const auto& e : answer->elements) out.push_back(e.integer);
  co_return out;
}

asio::awaitable<Result<BudgetOutcome>> SharedLimitsClient::take_budget(std::string client,
                                                                       BudgetClaim claim) {
  RespArgs keys_and_args;
  keys_and_args.add(budget_key(client, "day", claim.day_start_ms))
      .add(budget_key(client, "month", claim.month_start_ms))
      .add(claim.requests_per_day)
      .add(claim.tokens_per_day)
      .add(claim.tokens_per_month)
      .add(std::max<std::int64_t>(claim.tokens, 0))
      .add(std::max<std::int64_t>(claim.day_ttl_ms, 1000))
      .add(std::max<std::int64_t>(claim.month_ttl_ms, 1000));
  auto answer = co_await run_script(kBudgetTakeScript, budget_sha_, keys_and_args, 2);
  if (!answer) co_return std::move(answer).error();
  if (answer->type != RedisReply::Type::kInteger || answer->integer < 0 || answer->integer > 3) {
    const std::string what =
        answer->is_error() ? answer->text : std::string("an unexpected answer");
    co_return Error::unavailable("Redis budget script: " + what, "state_unavailable");
  }
  co_return static_cast<BudgetOutcome>(answer->integer);
}

bool SharedLimitsClient::settle_budget(std::string_view client, std::int64_t day_start_ms,
                                       std::int64_t month_start_ms, std::int64_t delta) {
  if (delta == 0) return true;
  // EVAL, not EVALSHA: an answer is not awaited, so a NOSCRIPT could not be retried.
  RespArgs args;
  args.add(budget_key(client, "day", day_start_ms))
      .add(budget_key(client, "month", month_start_ms))
      .add(delta);
  return link_->send(resp_command({"EVAL", kBudgetSettleScript, "2"}, args));
}

namespace {

// One health mark, its longer one kept (kCoolScript); EVAL, not EVALSHA: not waited for.
bool send_mark(RedisLink& link, std::string mark, std::chrono::milliseconds length) {
  if (length.count() <= 0) return true;
  return link.send(
      {"EVAL", std::string(kCoolScript), "1", std::move(mark), std::to_string(length.count())});
}

}  // namespace

bool SharedLimitsClient::cool(std::string_view key, std::chrono::milliseconds length) {
  return send_mark(*link_, cooldown_key(key), length);
}

bool SharedLimitsClient::open_breaker(std::string_view key, std::chrono::milliseconds length) {
  return send_mark(*link_, breaker_key(key), length);
}

bool SharedLimitsClient::quarantine(std::string_view key, std::chrono::milliseconds length) {
  return send_mark(*link_, quarantine_key(key), length);
}

bool SharedLimitsClient::lift(std::string_view key) {
  return link_->send({"DEL", quarantine_key(key)});
}

bool SharedLimitsClient::lower_concurrency(std::string_view key, int max_concurrency,
                                           std::chrono::milliseconds length) {
  if (max_concurrency <= 0) return true;
  return link_->send({"EVAL", std::string(kLowerScript), "1", cap_key(key),
                      std::to_string(max_concurrency), std::to_string(length.count())});
}

bool SharedLimitsClient::restore_concurrency(std::string_view key) {
  return link_->send({"DEL", cap_key(key)});
}

bool SharedLimitsClient::renew(std::string_view key, std::string_view lease) {
  // EVAL, not EVALSHA: an answer is not awaited, so a NOSCRIPT could not be retried.
  RespArgs args;
  args.add_joined({prefix_, kLeases, key}).add(std::int64_t{lease_time_.count()}).add(lease);
  return link_->send(resp_command({"EVAL", kRenewScript, "1"}, args));
}

}  // namespace bc::state
