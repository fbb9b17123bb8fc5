// Where a streamed answer goes: the api layer implements one sink per dialect (OpenAI SSE,
// the native plain-text stream). The forwarder calls it from the request's coroutine.
#pragma once

#include <span>

#include <boost/asio/awaitable.hpp>

#include "core/chat.h"
#include "core/error.h"
#include "core/result.h"
#include "providers/relay_delta.h"

namespace bc::gateway {

using boost::asio::awaitable;

class StreamSink {
 public:
  virtual ~StreamSink() = default;
  // Prepares the response head; it leaves with the first bytes sent (so nothing is sent here).
  // After this, no retry is possible.
  virtual Status begin() = 0;
  // Queues one delta in the client's format. Nothing is sent before flush(), end() or fail():
  // the events decoded from one upstream read leave in one write, not one write each.
  virtual void add(const providers::RelayDelta& delta) = 0;
  // These deltas are about to be add()ed: a sink may make room for all of them at once rather
  // than grow its queue step by step through a burst.
  virtual void reserve_for(std::span<const providers::RelayDelta> /*deltas*/) {}
  // Sends what is queued, if anything. An error when the client is gone.
  virtual awaitable<Status> flush() = 0;
  // Sends what is queued and, when it has not gone yet, the response head even with nothing
  // queued: the client learns that its answer has begun. An error when the client is gone.
  virtual awaitable<Status> commit() = 0;
  // Whether this dialect can say "still here" without content (SSE comments can).
  virtual bool takes_heartbeats() const { return false; }
  // Queues that "still here" (only when takes_heartbeats()).
  virtual void add_heartbeat() {}
  // The upstream finished normally: what is queued and the end of the stream, in one write.
  virtual awaitable<Status> end() = 0;
  // The upstream failed after begin(): end the client's stream with an explicit error, never
  // as a silently truncated answer.
  virtual awaitable<void> fail(const Error& error) = 0;
};

}  // namespace bc::gateway
