// The process-wide side of `state.backend: redis`: this instance's id, whether it is degraded
// (some worker cannot use Redis: /health, the bc_state_degraded metric, one log line per
// change), and the rate windows of the local shares that admit requests while Redis is down.
// Made once by main() and shared by every worker's SharedAdmission (gateway/shared_admission.h).
// Thread-safe.
#pragma once

#include <chrono>
#include <deque>
#include <mutex>
#include <string>
#include <unordered_map>

#include "config/state_config.h"
#include "core/clock.h"

namespace bc::gateway {

class SharedState {
 public:
  explicit SharedState(config::StateConfig config);

  const config::StateConfig& config() const { return config_; }
  // Unique to this process: host name, process id and a random part (a restarted instance is
  // a new one; its predecessor's leases expire on their own).
  const std::string& instance_id() const { return instance_id_; }
  std::chrono::milliseconds lease_time() const {
    return std::chrono::milliseconds(config_.lease_ms);
  }

  // A worker joins (down until its session is up) or reports what its session announced
  // (state::RedisSession::OnChange; was_up: what it was before). The first worker to go down
  // (or to fail its first connection) logs a warning with the reason, the last to come back
  // logs that the shared limits are exact again: one line per change of the instance, not
  // one per worker.
  int worker_joined();  // the worker's number in this instance
  void worker_changed(bool was_up, bool up, const std::string& why);
  void worker_left(bool was_up);
  // Some worker cannot use Redis: it admits on this instance's share of each limit.
  bool degraded() const;

  // Degraded mode's rate check for one key (its Redis id): takes an admission from the window
  // of `rate` per second (this instance's share of max_qps) and answers true, or answers false
  // with when the window has room again in `retry_after`.
  bool take_local_rate(const std::string& key, double rate, TimePoint now,
                       std::chrono::milliseconds& retry_after);

 private:
  config::StateConfig config_;
  std::string instance_id_;
  mutable std::mutex mutex_;
  int workers_ = 0;
  int joined_ = 0;
  int down_ = 0;
  bool warned_ = false;  // the warning of the current degraded period was logged
  std::unordered_map<std::string, std::deque<TimePoint>> windows_;
};

}  // namespace bc::gateway
