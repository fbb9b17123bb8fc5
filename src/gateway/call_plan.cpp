#include "gateway/call_plan.h"

#include <algorithm>

namespace bc::gateway {

CallPlan::CallPlan(std::span<const ModelBudget> models, const PlanSettings& settings,
                   std::optional<std::size_t> named, bool needs_tools,
                   std::optional<balance::Target> pinned, TimePoint now)
    : models_(models),
      settings_(settings),
      named_(named),
      needs_tools_(needs_tools),
      pinned_(pinned) {
  for (std::size_t m = 0; m < models_.size(); ++m) {
    if (named_ && *named_ != m) continue;
    // The deadline: the named model's total timeout, or the longest of any model's.
    total_ = std::max(total_, models_[m].total_timeout);
  }
  deadline_ = now + total_;
  max_models_ =
      named_ ? 1 : 1 + static_cast<std::size_t>(std::max(0, settings_.max_model_failovers));
}

bool CallPlan::tools_servable() const {
  if (!needs_tools_) return true;
  for (std::size_t m = 0; m < models_.size(); ++m) {
    if ((!named_ || *named_ == m) && models_[m].supports_tools) return true;
  }
  return false;
}

std::size_t CallPlan::tried_on(std::size_t model) const {
  return static_cast<std::size_t>(std::count_if(
      tried_.begin(), tried_.end(), [model](balance::Target t) { return t.model == model; }));
}

std::size_t CallPlan::budget(std::size_t model) const {
  return static_cast<std::size_t>(std::max(0, models_[model].max_retries));
}

bool CallPlan::is_tried(balance::Target target) const {
  return std::find(tried_.begin(), tried_.end(), target) != tried_.end();
}

// A model this request may (still) use: the named one, or any served one, within the number
// of models it may move on to.
bool CallPlan::model_allowed(std::size_t model) const {
  if (model >= models_.size()) return false;
  const auto& spec = models_[model];
  if (named_ ? *named_ != model : spec.weight <= 0) return false;
  if (needs_tools_ && !spec.supports_tools) return false;
  const bool known =
      std::find(models_tried_.begin(), models_tried_.end(), model) != models_tried_.end();
  return known || models_tried_.size() < max_models_;
}

bool CallPlan::may_try(balance::Target target) const {
  if (pinned_) return target == *pinned_ && !is_tried(target);
  if (!model_allowed(target.model)) return false;
  if (tried_on(target.model) > budget(target.model)) return false;
  return !is_tried(target) || (retry_ && retry_->target == target);
}

boost::container::small_vector<std::uint32_t, 4> CallPlan::closed_models() const {
  boost::container::small_vector<std::uint32_t, 4> closed;
  if (tried_.empty()) return closed;  // a first attempt: the pick's own rules suffice
  for (std::size_t m = 0; m < models_.size(); ++m) {
    if (!model_allowed(m) || tried_on(m) > budget(m)) {
      closed.push_back(static_cast<std::uint32_t>(m));
    }
  }
  return closed;
}

bool CallPlan::has_budget() const {
  if (pinned_) return !is_tried(*pinned_);
  if (retry_ && may_try(retry_->target)) return true;
  for (std::size_t m = 0; m < models_.size(); ++m) {
    if (!model_allowed(m) || tried_on(m) > budget(m)) continue;
    // An untried key left on it? (Attempts count repeats; keys are counted once.)
    boost::container::small_vector<std::uint32_t, 4> keys;
    for (const auto& t : tried_) {
      if (t.model == m && std::find(keys.begin(), keys.end(), t.key) == keys.end()) {
        keys.push_back(t.key);
      }
    }
    if (keys.size() < models_[m].keys) return true;
  }
  return false;
}

void CallPlan::started(balance::Target target) {
  if (retry_ && retry_->target == target) ++same_key_retries_;
  retry_.reset();  // granted for this failure only: a new failure grants anew
  tried_.push_back(target);
  if (std::find(models_tried_.begin(), models_tried_.end(), target.model) == models_tried_.end()) {
    models_tried_.push_back(target.model);
  }
}

bool CallPlan::transient(const Error& error) {
  if (!error.retryable || error.key_action != KeyAction::kNone) return false;
  if (error.code == "cancelled" || error.code == "client_closed" ||
      error.code == "deadline_exceeded") {
    return false;
  }
  const int status = error.http_status;
  if (status >= 400 && status < 500 && status != 408 && status != 409) return false;
  return error.kind == ErrorKind::kUpstream || error.kind == ErrorKind::kTimeout ||
         error.kind == ErrorKind::kUnavailable;
}

void CallPlan::failed(balance::Target target, Error& error, TimePoint now, Rng& rng) {
  retry_.reset();
  if (error.key_action == KeyAction::kRefreshCredential) {
    // The key's derived token (Baidu access_token, Zhipu JWT) is dead: retry the same key
    // once with a fresh one. A second refusal means the key itself is bad.
    if (std::find(refreshed_.begin(), refreshed_.end(), target) == refreshed_.end()) {
      refreshed_.push_back(target);
      // The attempt does not count: the key is untried again.
      const auto it = std::find(tried_.rbegin(), tried_.rend(), target);
      if (it != tried_.rend()) tried_.erase(std::next(it).base());
      error.key_action = KeyAction::kNone;
      error.retryable = true;
    } else {
      error.key_action = KeyAction::kDisable;
    }
    last_error_ = error;
    return;
  }
  last_error_ = error;
  if (pinned_ || !transient(error) || expired(now)) return;
  if (tried_on(target.model) > budget(target.model)) return;
  // Exponential backoff with jitter: backoff × 2^n, at most backoff_max, drawn in [½, 1].
  const auto base = settings_.backoff.count() << std::min(same_key_retries_, 20);
  const auto capped = std::min<std::int64_t>(base, settings_.backoff_max.count());
  const double jitter = 0.5 + 0.5 * rng.uniform();
  const auto wait = std::chrono::milliseconds(static_cast<std::int64_t>(capped * jitter));
  if (now + wait >= deadline_) return;
  retry_ = Retry{target, now + wait};
}

net::Timeouts CallPlan::clip(net::Timeouts t, TimePoint now) const {
  // No attempt may outlive the request's deadline.
  const auto left = std::max(std::chrono::milliseconds(1),
                             std::chrono::ceil<std::chrono::milliseconds>(deadline_ - now));
  t.connect = std::min(t.connect, left);
  t.first_byte = std::min(t.first_byte, left);
  t.idle = std::min(t.idle, left);
  t.deadline = deadline_;
  return t;
}

Error CallPlan::final_error() const {
  auto e = *last_error_;
  // An upstream that refused the gateway's key is the gateway's problem, not the caller's
  // credentials: a 401/403 here would send the caller hunting for a wrong key of their own.
  if (e.kind == ErrorKind::kAuthentication || e.kind == ErrorKind::kPermission) {
    e.http_status = 502;
  }
  if (tried_.size() > 1) {
    e.message =
        "all " + std::to_string(tried_.size()) + " attempts failed; the last one: " + e.message;
  }
  return e;
}

Error CallPlan::deadline_error() const {
  auto e = Error::timeout("the request did not finish within its total timeout of " +
                              std::to_string(total_.count()) + " ms",
                          "deadline_exceeded");
  if (!tried_.empty()) {
    e.message +=
        " (" + std::to_string(tried_.size()) + " attempt" + (tried_.size() == 1 ? "" : "s");
    if (last_error_) e.message += "; the last one: " + last_error_->message;
    e.message += ")";
  }
  e.retryable = false;
  return e;
}

}  // namespace bc::gateway
