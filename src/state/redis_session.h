// One worker's lasting connection to Redis: connects, reconnects after a failure with
// backoff (state/degraded.h), and while up keeps this instance's heartbeat in Redis and
// reads the others', so degraded mode knows how many instances share each limit. Lives on
// one worker's executor; made with std::make_shared because its keeper coroutine holds it.
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <functional>
#include <memory>
#include <random>
#include <string>

#include "config/state_config.h"
#include "state/degraded.h"
#include "state/redis_link.h"

namespace bc::state {

struct RedisSessionOptions {
  config::RedisEndpoint endpoint;
  std::chrono::milliseconds timeout{250};
  std::string key_prefix = "bc:";
  std::string instance_id;
  std::chrono::milliseconds heartbeat_every{1000};
  // An instance whose last heartbeat is older than this is no longer counted as live.
  std::chrono::milliseconds heartbeat_ttl{3000};
  std::chrono::milliseconds backoff_base{100};
  std::chrono::milliseconds backoff_max{5000};
};

class RedisSession : public std::enable_shared_from_this<RedisSession> {
 public:
  // Called on the session's executor when Redis becomes usable (true) or stops being (false,
  // with the reason): once per change, never twice in a row with the same value.
  using OnChange = std::function<void(bool up, const std::string& why)>;

  RedisSession(boost::asio::any_io_executor executor, RedisSessionOptions options,
               OnChange on_change);

  void start();
  // Ends the keeper and closes the link; the session is down from then on.
  void stop();

  // The live link, or nullptr while Redis is unusable.
  RedisLink* link() { return up_ ? link_.get() : nullptr; }
  bool up() const { return up_; }
  // The instances alive at the last heartbeat (this one at least).
  LiveView live() const { return live_; }
  std::string instances_key() const { return options_.key_prefix + "instances"; }

 private:
  boost::asio::awaitable<void> keep();
  boost::asio::awaitable<Status> beat();
  void set_up(bool up, const std::string& why);
  boost::asio::awaitable<void> sleep(std::chrono::milliseconds d);

  boost::asio::any_io_executor executor_;
  RedisSessionOptions options_;
  OnChange on_change_;
  std::unique_ptr<RedisLink> link_;
  boost::asio::steady_timer timer_;
  std::minstd_rand random_;
  LiveView live_;
  bool up_ = false;
  bool announced_ = false;  // on_change was called at least once
  bool stopped_ = false;
};

}  // namespace bc::state
