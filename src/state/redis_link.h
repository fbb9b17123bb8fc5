// One connection to Redis on one worker's io_context: hiredis's async API (state/redis_asio.h)
// behind coroutines. Commands are pipelined on the connection and answered in order; every
// command has the link's timeout, and a command that outlives it ends the link (its pending
// commands fail) so that a slow Redis counts as an unavailable one. Not thread-safe: use it
// from the executor it was made on.
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "config/state_config.h"
#include "core/result.h"
#include "state/resp_command.h"

struct redisAsyncContext;  // hiredis

namespace bc::state {

// A Redis answer, copied out of hiredis's reply (which hiredis frees after the callback).
struct RedisReply {
  enum class Type { kNil, kInteger, kString, kStatus, kError, kArray, kLinkFailed };
  Type type = Type::kNil;
  long long integer = 0;
  std::string text;  // string, status, error; for kLinkFailed why the link failed
  std::vector<RedisReply> elements;

  bool is_error() const { return type == Type::kError; }
};

class RedisLink {
 public:
  // Connects to `endpoint`, then AUTH (when it has a password) and SELECT (when db != 0),
  // each answered within `timeout`. The error says which step failed and Redis's words.
  static boost::asio::awaitable<Result<std::unique_ptr<RedisLink>>> connect(
      boost::asio::any_io_executor executor, const config::RedisEndpoint& endpoint,
      std::chrono::milliseconds timeout);

  ~RedisLink();
  RedisLink(const RedisLink&) = delete;
  RedisLink& operator=(const RedisLink&) = delete;

  // Sends one command and waits for its answer. A Redis error answer (-ERR ...) is a
  // RedisReply of type kError; a lost or timed-out link is an Error.
  boost::asio::awaitable<Result<RedisReply>> command(std::vector<std::string> args);
  boost::asio::awaitable<Result<RedisReply>> command(RespCommand formatted);
  // Sends one command without waiting for its answer (a release, a renewal). False when the
  // link is down.
  bool send(const std::vector<std::string>& args);
  bool send(const RespCommand& formatted);

  bool up() const { return context_ != nullptr; }
  // Why the link went down; empty while it is up.
  const std::string& failure() const { return failure_; }
  const config::RedisEndpoint& endpoint() const { return endpoint_; }

 private:
  struct Pending;
  class Watchdog;
  RedisLink(boost::asio::any_io_executor executor, config::RedisEndpoint endpoint,
            std::chrono::milliseconds timeout);

  bool submit(const RespCommand& formatted, Pending* pending);
  void complete(Pending* pending, RedisReply reply);
  void fail(std::string why);
  static void on_connect(const ::redisAsyncContext* context, int status);
  static void on_disconnect(const ::redisAsyncContext* context, int status);
  static void on_command_reply(::redisAsyncContext* context, void* reply, void* data);

  boost::asio::any_io_executor executor_;
  config::RedisEndpoint endpoint_;
  std::chrono::milliseconds timeout_;
  ::redisAsyncContext* context_ = nullptr;
  std::string failure_;
  std::unique_ptr<Watchdog> watchdog_;
};

}  // namespace bc::state
