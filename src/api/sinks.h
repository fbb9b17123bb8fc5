// The two ways a streamed answer reaches a client: OpenAI's SSE (`data: <chunk>` ... `data:
// [DONE]`) on /v1, and the seed's plain text chunks on /llm/chat/stream.
#pragma once

#include "gateway/stream_sink.h"
#include "net/http_server.h"

namespace bc::api {

using boost::asio::awaitable;

// Writes `queued` as one chunk and empties it (keeping a small buffer for the next events).
awaitable<Status> send_queued(net::ResponseWriter& writer, std::string& queued);
// Writes `queued` (the response head too, when it has not gone yet, even with nothing queued)
// and empties it.
awaitable<Status> commit_queued(net::ResponseWriter& writer, std::string& queued);
// Ends the stream with `queued` as its last chunk, in one write, and empties it.
awaitable<Status> end_with(net::ResponseWriter& writer, std::string& queued);

class OpenAISseSink final : public gateway::StreamSink {
 public:
  // `include_usage`: the caller's stream_options.include_usage, which decides whether chunks
  // carry `usage` (providers/openai_shape.h).
  OpenAISseSink(net::ResponseWriter& writer, bool include_usage)
      : writer_(writer), include_usage_(include_usage) {}
  Status begin() override;
  void add(const providers::RelayDelta& delta) override;
  void reserve_for(std::span<const providers::RelayDelta> deltas) override;
  awaitable<Status> flush() override { return send_queued(writer_, queued_); }
  awaitable<Status> commit() override { return commit_queued(writer_, queued_); }
  // An SSE comment line, which every SSE reader skips.
  bool takes_heartbeats() const override { return true; }
  void add_heartbeat() override { queued_ += ": keep-alive\n\n"; }
  awaitable<Status> end() override;
  // An error object as the last event, then [DONE]: OpenAI's SDKs raise it as an APIError.
  awaitable<void> fail(const Error& error) override;

 private:
  net::ResponseWriter& writer_;
  bool include_usage_;
  std::string queued_;
};

class PlainTextSink final : public gateway::StreamSink {
 public:
  explicit PlainTextSink(net::ResponseWriter& writer) : writer_(writer) {}
  Status begin() override;
  void add(const providers::RelayDelta& delta) override { queued_ += delta.text; }
  awaitable<Status> flush() override { return send_queued(writer_, queued_); }
  // Plain text has no comment: the head can go early, heartbeats cannot.
  awaitable<Status> commit() override { return commit_queued(writer_, queued_); }
  awaitable<Status> end() override;
  // A final line "[ERROR] <message>" so a reader can tell a cut answer from a complete one.
  awaitable<void> fail(const Error& error) override;

 private:
  net::ResponseWriter& writer_;
  std::string queued_;
};

}  // namespace bc::api
