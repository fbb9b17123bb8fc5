#include "api/sinks.h"

#include "api/reply.h"

namespace bc::api {

namespace {
const Headers kSseHeaders = {
    {"Cache-Control", "no-cache"},
    // Tells nginx-style proxies in front of us not to buffer the stream.
    {"X-Accel-Buffering", "no"},
};
}  // namespace

awaitable<Status> OpenAISseSink::begin() {
  co_return co_await writer_.begin_stream(200, "text/event-stream; charset=utf-8", kSseHeaders);
}

awaitable<Status> OpenAISseSink::write(const ChatDelta& delta) {
  buffer_.clear();
  buffer_.reserve(delta.chunk_json.size() + 8);
  buffer_.append("data: ").append(delta.chunk_json).append("\n\n");
  co_return co_await writer_.write(buffer_);
}

awaitable<Status> OpenAISseSink::end() {
  const Status wrote = co_await writer_.write("data: [DONE]\n\n");
  if (!wrote) co_return wrote;
  co_return co_await writer_.end_stream();
}

awaitable<void> OpenAISseSink::fail(const Error& error) {
  const Status wrote = co_await writer_.write(sse_error_event(error));
  if (!wrote) co_return;
  const Status done = co_await writer_.write("data: [DONE]\n\n");
  if (!done) co_return;
  (void)co_await writer_.end_stream();
}

awaitable<Status> PlainTextSink::begin() {
  co_return co_await writer_.begin_stream(200, "text/plain; charset=utf-8", kSseHeaders);
}

awaitable<Status> PlainTextSink::write(const ChatDelta& delta) {
  if (delta.text.empty()) co_return Status{};
  co_return co_await writer_.write(delta.text);
}

awaitable<Status> PlainTextSink::end() {
  co_return co_await writer_.end_stream();
}

awaitable<void> PlainTextSink::fail(const Error& error) {
  const Status wrote = co_await writer_.write("\n[ERROR] " + error.message + "\n");
  if (!wrote) co_return;
  (void)co_await writer_.end_stream();
}

}  // namespace bc::api
