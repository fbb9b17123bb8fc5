// The instance-wide side of shared state (gateway/shared_state.h).
#include "gateway/shared_state.h"

#include <unistd.h>

#include <random>

#include "state/shared_limits.h"
#include "telemetry/app_log.h"

namespace bc::gateway {

namespace {

std::string make_instance_id() {
  char host[256] = {};
  if (gethostname(host, sizeof host - 1) != 0) host[0] = '\0';
  std::random_device random;
  const unsigned salt = random() & 0xffffu;
  char tail[32];
  std::snprintf(tail, sizeof tail, ":%d:%04x", static_cast<int>(getpid()), salt);
  return std::string(host[0] != '\0' ? host : "gateway") + tail;
}

}  // namespace

SharedState::SharedState(config::StateConfig config)
    : config_(std::move(config)), instance_id_(make_instance_id()) {}

int SharedState::worker_joined() {
  std::lock_guard lock(mutex_);
  ++workers_;
  ++down_;
  return joined_++;
}

void SharedState::worker_left(bool was_up) {
  std::lock_guard lock(mutex_);
  --workers_;
  if (!was_up) --down_;
}

void SharedState::worker_changed(bool was_up, bool up, const std::string& why) {
  std::lock_guard lock(mutex_);
  if (up) {
    if (!was_up) --down_;
    if (down_ == 0 && warned_) {
      warned_ = false;
      telemetry::log_event(spdlog::level::info, {.error = "state"},
                           "state: Redis is back; the limits are shared and exact again");
    }
    return;
  }
  if (was_up) ++down_;
  if (!warned_) {
    warned_ = true;
    telemetry::log_event(spdlog::level::warn, {.error = "state"},
                         "state: Redis unavailable (" + why +
                             "); serving degraded on this instance's share of each limit");
  }
}

bool SharedState::degraded() const {
  std::lock_guard lock(mutex_);
  return down_ > 0;
}

bool SharedState::take_local_rate(const std::string& key, double rate, TimePoint now,
                                  std::chrono::milliseconds& retry_after) {
  const state::RateWindow window = state::rate_window_for(rate);
  if (window.admissions <= 0) return true;
  const auto span = std::chrono::milliseconds(window.window_ms);
  std::lock_guard lock(mutex_);
  auto& starts = windows_[key];
  while (!starts.empty() && starts.front() <= now - span) starts.pop_front();
  if (starts.size() >= static_cast<std::size_t>(window.admissions)) {
    retry_after = std::max(
        std::chrono::milliseconds(1),
        std::chrono::duration_cast<std::chrono::milliseconds>(starts.front() + span - now));
    return false;
  }
  starts.push_back(now);
  return true;
}

}  // namespace bc::gateway
