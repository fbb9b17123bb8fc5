// Drives a hiredis async context from an Asio io_context: hiredis's event hooks (addRead,
// delRead, addWrite, delWrite, cleanup) become async_wait calls on a posix::stream_descriptor
// over the context's socket, so Redis traffic runs on the worker's own event loop with no
// thread of its own and no blocking call. hiredis keeps parsing RESP; we only say when the
// socket is ready.
#pragma once

#include <boost/asio/any_io_executor.hpp>

struct redisAsyncContext;

namespace bc::state {

// Attaches `context` to `executor` (which must be single-threaded: one worker's
// io_context). Returns false when the context already has an event loop. The attachment
// ends when hiredis frees the context (its cleanup hook), which also cancels the waits; the
// socket stays hiredis's to close.
bool attach_to_asio(redisAsyncContext& context, const boost::asio::any_io_executor& executor);

}  // namespace bc::state
