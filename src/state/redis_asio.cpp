// hiredis's event hooks mapped onto Asio readiness waits (state/redis_asio.h).
#include "state/redis_asio.h"

#include <hiredis/async.h>

#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/post.hpp>
#include <memory>

namespace bc::state {
namespace {

namespace asio = boost::asio;

// Lives while hiredis holds it in ev.data (`self_`) or a wait is pending (each handler holds
// a reference), whichever ends last: the cleanup hook may run inside one of our handlers.
class Watcher : public std::enable_shared_from_this<Watcher> {
 public:
  Watcher(redisAsyncContext& context, const asio::any_io_executor& executor)
      : context_(&context), socket_(executor, context.c.fd) {}

  void keep_alive_until_cleanup() { self_ = shared_from_this(); }

  static void add_read(void* data) { static_cast<Watcher*>(data)->want(true); }
  static void del_read(void* data) { static_cast<Watcher*>(data)->reading_.wanted = false; }
  static void add_write(void* data) { static_cast<Watcher*>(data)->want_write(); }
  static void del_write(void* data) { static_cast<Watcher*>(data)->writing_.wanted = false; }
  static void cleanup(void* data) { static_cast<Watcher*>(data)->detach(); }

 private:
  struct Direction {
    bool wanted = false;
    bool waiting = false;  // one async_wait at most per direction
  };

  Direction& direction(bool read) { return read ? reading_ : writing_; }

  void want(bool read) {
    direction(read).wanted = true;
    arm(read);
  }

  // A command is written on the loop's next turn, without first waiting for the socket to
  // report writable (it nearly always is): that wait cost a reactor round trip per command,
  // on the request's path, for one request alone. Commands queued in the same turn leave in
  // one write. Only a write the socket could not take whole (hiredis asks again from inside
  // redisAsyncHandleWrite) waits for writability, as does the connect.
  void want_write() {
    writing_.wanted = true;
    if (context_ == nullptr) return;
    if (in_write_ || (context_->c.flags & REDIS_CONNECTED) == 0) {
      arm(false);
      return;
    }
    if (write_posted_) return;
    write_posted_ = true;
    asio::post(socket_.get_executor(), [self = shared_from_this()] {
      self->write_posted_ = false;
      if (self->context_ == nullptr || !self->writing_.wanted) return;
      self->in_write_ = true;
      redisAsyncHandleWrite(self->context_);  // may end the context (the cleanup hook)
      self->in_write_ = false;
    });
  }

  void arm(bool read) {
    Direction& d = direction(read);
    if (d.waiting || !d.wanted || context_ == nullptr) return;
    d.waiting = true;
    const auto wait = read ? asio::posix::stream_descriptor::wait_read
                           : asio::posix::stream_descriptor::wait_write;
    socket_.async_wait(wait,
                       [self = shared_from_this(), read](const boost::system::error_code& ec) {
                         Direction& dir = self->direction(read);
                         dir.waiting = false;
                         // Cancelled by the cleanup hook, or no longer wanted since the wait began.
                         if (ec || self->context_ == nullptr || !dir.wanted) return;
                         if (read) {
                           redisAsyncHandleRead(self->context_);
                         } else {
                           redisAsyncHandleWrite(self->context_);
                         }
                         self->arm(read);  // a no-op once the context is gone
                       });
  }

  // hiredis frees the context (it closes the socket itself): cancel our waits, give the
  // descriptor back without closing it, and let go of hiredis's reference.
  void detach() {
    context_ = nullptr;
    reading_.wanted = writing_.wanted = false;
    boost::system::error_code ignored;
    socket_.cancel(ignored);
    (void)socket_.release();
    auto last = std::move(self_);  // may destroy *this when this returns
  }

  redisAsyncContext* context_;
  asio::posix::stream_descriptor socket_;
  Direction reading_;
  Direction writing_;
  bool write_posted_ = false;  // a write is queued for the loop's next turn
  bool in_write_ = false;      // inside redisAsyncHandleWrite
  std::shared_ptr<Watcher> self_;
};

}  // namespace

bool attach_to_asio(redisAsyncContext& context, const asio::any_io_executor& executor) {
  if (context.ev.data != nullptr) return false;
  auto watcher = std::make_shared<Watcher>(context, executor);
  watcher->keep_alive_until_cleanup();
  context.ev.data = watcher.get();
  context.ev.addRead = &Watcher::add_read;
  context.ev.delRead = &Watcher::del_read;
  context.ev.addWrite = &Watcher::add_write;
  context.ev.delWrite = &Watcher::del_write;
  context.ev.cleanup = &Watcher::cleanup;
  return true;
}

}  // namespace bc::state
