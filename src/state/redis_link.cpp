// A Redis connection behind coroutines (state/redis_link.h): hiredis parses answers (commands
// come formatted, state/resp_command.h); we match answers to waiting coroutines and enforce
// the timeout.
#include "state/redis_link.h"

#include <hiredis/async.h>
#include <hiredis/hiredis.h>

#include <algorithm>

#include <boost/asio/any_completion_handler.hpp>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <deque>
#include <utility>

#include "state/redis_asio.h"

namespace bc::state {

namespace asio = boost::asio;
using Clock = std::chrono::steady_clock;

// One command waiting for its answer; no handler for a command sent without waiting.
struct RedisLink::Pending {
  asio::any_completion_handler<void(RedisReply)> handler;
};

// Answers come in the order commands were sent, so the oldest unanswered command's deadline
// is the only one to watch. One timer wait at a time, re-armed lazily when it fires, so an
// answer costs no timer operation.
class RedisLink::Watchdog {
 public:
  Watchdog(const asio::any_io_executor& executor, RedisLink& link)
      : timer_(executor), link_(link), alive_(std::make_shared<bool>(true)) {}
  ~Watchdog() { *alive_ = false; }

  void started() {
    deadlines_.push_back(Clock::now() + link_.timeout_);
    if (!armed_) arm();
  }
  void answered() {
    if (!deadlines_.empty()) deadlines_.pop_front();
  }

 private:
  void arm() {
    armed_ = true;
    timer_.expires_at(deadlines_.front());
    timer_.async_wait([this, alive = alive_](const boost::system::error_code& ec) {
      if (!*alive) return;  // the link is gone (a cancelled or already queued wait)
      armed_ = false;
      if (ec || deadlines_.empty()) return;
      if (deadlines_.front() > Clock::now()) return arm();
      link_.fail("no answer within " + std::to_string(link_.timeout_.count()) + " ms");
    });
  }

  asio::steady_timer timer_;
  RedisLink& link_;
  std::deque<Clock::time_point> deadlines_;
  bool armed_ = false;
  std::shared_ptr<bool> alive_;
};

namespace {

RedisReply copy_reply(const redisReply& r) {
  RedisReply out;
  switch (r.type) {
    case REDIS_REPLY_STRING:
      out.type = RedisReply::Type::kString;
      out.text.assign(r.str, r.len);
      break;
    case REDIS_REPLY_STATUS:
      out.type = RedisReply::Type::kStatus;
      out.text.assign(r.str, r.len);
      break;
    case REDIS_REPLY_ERROR:
      out.type = RedisReply::Type::kError;
      out.text.assign(r.str, r.len);
      break;
    case REDIS_REPLY_INTEGER:
      out.type = RedisReply::Type::kInteger;
      out.integer = r.integer;
      break;
    case REDIS_REPLY_ARRAY:
      out.type = RedisReply::Type::kArray;
      out.elements.reserve(r.elements);
      for (std::size_t i = 0; i < r.elements; ++i)
        out.elements.push_back(copy_reply(*r.element[i]));
      break;
    default:
      out.type = RedisReply::Type::kNil;
  }
  return out;
}

RedisReply link_failed(std::string why) {
  RedisReply r;
  r.type = RedisReply::Type::kLinkFailed;
  r.text = std::move(why);
  return r;
}

}  // namespace

RedisLink::RedisLink(asio::any_io_executor executor, config::RedisEndpoint endpoint,
                     std::chrono::milliseconds timeout)
    : executor_(std::move(executor)),
      endpoint_(std::move(endpoint)),
      timeout_(timeout),
      watchdog_(std::make_unique<Watchdog>(executor_, *this)) {}

RedisLink::~RedisLink() {
  if (context_ != nullptr) {
    failure_ = "the link was closed";
    redisAsyncContext* context = std::exchange(context_, nullptr);
    // What is queued and not yet written (a release sent in this turn of the loop) leaves now,
    // as far as the socket takes it without blocking: a closed instance's leases are then
    // free at once rather than when they expire.
    if ((context->c.flags & REDIS_CONNECTED) != 0) {
      int done = 0;
      (void)redisBufferWrite(&context->c, &done);
    }
    redisAsyncFree(context);  // answers every pending command with a failure
  }
}

void RedisLink::fail(std::string why) {
  if (context_ == nullptr) return;
  failure_ = std::move(why);
  redisAsyncContext* context = std::exchange(context_, nullptr);
  redisAsyncFree(context);
}

// A failed connect: hiredis frees the context right after (and calls the disconnect hook
// only for a connection that was made).
void RedisLink::on_connect(const redisAsyncContext* context, int status) {
  auto* link = static_cast<RedisLink*>(context->data);
  if (status == REDIS_OK || link == nullptr) return;
  link->failure_ = context->errstr;
  link->context_ = nullptr;
}

void RedisLink::on_disconnect(const redisAsyncContext* context, int status) {
  auto* link = static_cast<RedisLink*>(context->data);
  if (link == nullptr) return;
  if (link->failure_.empty()) {
    link->failure_ = status == REDIS_OK ? "the link was closed" : context->errstr;
  }
  link->context_ = nullptr;
}

void RedisLink::on_command_reply(redisAsyncContext* context, void* reply, void* data) {
  auto* link = static_cast<RedisLink*>(context->data);
  auto* pending = static_cast<Pending*>(data);
  if (reply != nullptr) {
    link->complete(pending, copy_reply(*static_cast<redisReply*>(reply)));
    return;
  }
  // No answer: the link ended (our own fail() or a closed or refused connection).
  std::string why = !link->failure_.empty() ? link->failure_
                    : context->c.err != 0   ? std::string(context->c.errstr)
                                            : std::string("the link was closed");
  link->complete(pending, link_failed(std::move(why)));
}

void RedisLink::complete(Pending* pending, RedisReply reply) {
  watchdog_->answered();
  std::unique_ptr<Pending> owned(pending);
  if (!owned || !owned->handler) return;
  // Posted, not called: the waiting coroutine must not run inside hiredis's callback (it
  // could free the link there).
  asio::post(executor_, [handler = std::move(owned->handler), reply = std::move(reply)]() mutable {
    std::move(handler)(std::move(reply));
  });
}

bool RedisLink::submit(const RespCommand& formatted, Pending* pending) {
  if (context_ == nullptr) return false;
  // hiredis copies the command into its output buffer at once.
  if (redisAsyncFormattedCommand(context_, &RedisLink::on_command_reply, pending,
                                 formatted.text.data(), formatted.text.size()) != REDIS_OK) {
    return false;
  }
  watchdog_->started();
  return true;
}

bool RedisLink::send(const RespCommand& formatted) {
  auto pending = std::make_unique<Pending>();
  if (!submit(formatted, pending.get())) return false;
  (void)pending.release();  // on_command_reply owns it now
  return true;
}

bool RedisLink::send(const std::vector<std::string>& args) {
  return send(resp_command(args));
}

asio::awaitable<Result<RedisReply>> RedisLink::command(std::vector<std::string> args) {
  RespCommand formatted = resp_command(args);
  co_return co_await command(std::move(formatted));
}

asio::awaitable<Result<RedisReply>> RedisLink::command(RespCommand formatted) {
  auto initiation = [this, &formatted](auto handler) {
    auto pending = std::make_unique<Pending>(Pending{std::move(handler)});
    if (submit(formatted, pending.get())) {
      (void)pending.release();
      return;
    }
    const std::string why = failure_.empty() ? "the link is down" : failure_;
    complete(pending.release(), link_failed(why));
  };
  RedisReply reply =
      co_await asio::async_initiate<const asio::use_awaitable_t<>&, void(RedisReply)>(
          initiation, asio::use_awaitable);
  if (reply.type == RedisReply::Type::kLinkFailed) {
    co_return Error::unavailable("Redis at " + endpoint_.describe() + ": " + reply.text,
                                 "state_unavailable");
  }
  co_return reply;
}

namespace {

// The step of the handshake that failed, with Redis's own words.
Error handshake_error(const config::RedisEndpoint& endpoint, std::string_view step,
                      const RedisReply& reply) {
  return Error::unavailable(
      "Redis at " + endpoint.describe() + " refused " + std::string(step) + ": " + reply.text,
      "state_unavailable");
}

}  // namespace

asio::awaitable<Result<std::unique_ptr<RedisLink>>> RedisLink::connect(
    asio::any_io_executor executor, const config::RedisEndpoint& endpoint,
    std::chrono::milliseconds timeout) {
  const std::string where = "Redis at " + endpoint.describe();
  redisAsyncContext* context = nullptr;
  if (endpoint.unix_path.empty()) {
    // hiredis would resolve a name with a blocking getaddrinfo; Asio's resolver does not
    // block the worker, and hiredis then gets an address.
    asio::ip::tcp::resolver resolver(executor);
    auto [ec, found] = co_await resolver.async_resolve(endpoint.host, std::to_string(endpoint.port),
                                                       asio::as_tuple(asio::use_awaitable));
    if (ec || found.empty()) {
      co_return Error::unavailable(where + ": cannot resolve the host: " + ec.message(),
                                   "state_unavailable");
    }
    const std::string address = found.begin()->endpoint().address().to_string();
    context = redisAsyncConnect(address.c_str(), endpoint.port);
  } else {
    context = redisAsyncConnectUnix(endpoint.unix_path.c_str());
  }
  if (context == nullptr) co_return Error::internal(where + ": out of memory");
  if (context->err != 0) {
    const std::string why = context->errstr;
    redisAsyncFree(context);
    co_return Error::unavailable(where + ": " + why, "state_unavailable");
  }
  std::unique_ptr<RedisLink> link(new RedisLink(executor, endpoint, timeout));
  link->context_ = context;
  context->data = link.get();
  attach_to_asio(*context, executor);
  redisAsyncSetConnectCallback(context, &RedisLink::on_connect);
  redisAsyncSetDisconnectCallback(context, &RedisLink::on_disconnect);

  if (!endpoint.password.empty()) {
    std::vector<std::string> auth{"AUTH"};
    if (!endpoint.username.empty()) auth.push_back(endpoint.username);
    auth.push_back(endpoint.password);
    auto answer = co_await link->command(std::move(auth));
    if (!answer) co_return std::move(answer).error();
    if (answer->is_error()) co_return handshake_error(endpoint, "the password", *answer);
  }
  if (endpoint.db != 0) {
    std::vector<std::string> select{"SELECT", std::to_string(endpoint.db)};
    auto answer = co_await link->command(std::move(select));
    if (!answer) co_return std::move(answer).error();
    if (answer->is_error()) co_return handshake_error(endpoint, "the database", *answer);
  }
  std::vector<std::string> ping{"PING"};
  auto answer = co_await link->command(std::move(ping));
  if (!answer) co_return std::move(answer).error();
  if (answer->is_error()) co_return handshake_error(endpoint, "PING", *answer);
  co_return std::move(link);
}

}  // namespace bc::state
