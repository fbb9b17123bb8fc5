// The two ways a streamed answer reaches a client: OpenAI's SSE (`data: <chunk>` ... `data:
// [DONE]`) on /v1, and the seed's plain text chunks on /llm/chat/stream.
#pragma once

#include "gateway/stream_sink.h"
#include "net/http_server.h"

namespace bc::api {

using boost::asio::awaitable;

class OpenAISseSink final : public gateway::StreamSink {
 public:
  explicit OpenAISseSink(net::ResponseWriter& writer) : writer_(writer) {}
  awaitable<Status> begin() override;
  awaitable<Status> write(const ChatDelta& delta) override;
  awaitable<Status> end() override;
  // An error object as the last event, then [DONE]: OpenAI's SDKs raise it as an APIError.
  awaitable<void> fail(const Error& error) override;

 private:
  net::ResponseWriter& writer_;
  std::string buffer_;
};

class PlainTextSink final : public gateway::StreamSink {
 public:
  explicit PlainTextSink(net::ResponseWriter& writer) : writer_(writer) {}
  awaitable<Status> begin() override;
  awaitable<Status> write(const ChatDelta& delta) override;
  awaitable<Status> end() override;
  // A final line "[ERROR] <message>" so a reader can tell a cut answer from a complete one.
  awaitable<void> fail(const Error& error) override;

 private:
  net::ResponseWriter& writer_;
};

}  // namespace bc::api
