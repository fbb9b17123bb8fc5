// Where a streamed answer goes: the api layer implements one sink per dialect (OpenAI SSE,
// the native plain-text stream). The forwarder calls it from the request's coroutine.
#pragma once

#include <boost/asio/awaitable.hpp>

#include "core/chat.h"
#include "core/error.h"
#include "core/result.h"

namespace bc::gateway {

using boost::asio::awaitable;

class StreamSink {
 public:
  virtual ~StreamSink() = default;
  // Sends the response head. After this, no retry is possible.
  virtual awaitable<Status> begin() = 0;
  virtual awaitable<Status> write(const ChatDelta& delta) = 0;
  // The upstream finished normally.
  virtual awaitable<Status> end() = 0;
  // The upstream failed after begin(): end the client's stream with an explicit error, never
  // as a silently truncated answer.
  virtual awaitable<void> fail(const Error& error) = 0;
};

}  // namespace bc::gateway
