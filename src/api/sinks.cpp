#include "api/sinks.h"

#include "api/reply.h"
#include "providers/openai_shape.h"

namespace bc::api {

namespace {
const Headers kSseHeaders = {
    {"Cache-Control", "no-cache"},
    // Tells nginx-style proxies in front of us not to buffer the stream.
    {"X-Accel-Buffering", "no"},
};
}  // namespace

namespace {
// What a queue keeps between writes: about one event; anything larger (a burst) is given
// back, so an open stream does not hold it while the upstream is quiet.
constexpr std::size_t kKeptQueueBytes = 512;

void release(std::string& queued) {
  if (queued.capacity() > kKeptQueueBytes) {
    std::string().swap(queued);
  } else {
    queued.clear();
  }
}
}  // namespace

awaitable<Status> send_queued(net::ResponseWriter& writer, std::string& queued) {
  if (queued.empty()) co_return Status{};
  const Status wrote = co_await writer.write(queued);
  release(queued);
  co_return wrote;
}

awaitable<Status> commit_queued(net::ResponseWriter& writer, std::string& queued) {
  const Status wrote = co_await writer.write(queued);  // "" sends the head alone
  release(queued);
  co_return wrote;
}

awaitable<Status> end_with(net::ResponseWriter& writer, std::string& queued) {
  const Status ended = co_await writer.end_stream(queued);
  release(queued);
  co_return ended;
}

Status OpenAISseSink::begin() {
  return writer_.begin_stream(200, "text/event-stream; charset=utf-8", kSseHeaders);
}

namespace {
// The usual size of an event; append_chunk_event() writes these around each chunk.
constexpr std::string_view kDataField = "data: ";
constexpr std::string_view kEventEnd = "\n\n";
}  // namespace

void OpenAISseSink::add(const providers::RelayDelta& delta) {
  if (!delta.lent_event.empty()) {
    // The upstream's own `data: <chunk>\n\n`, or a run of them: copied as they are but for
    // their `usage` member.
    providers::append_chunk_events(delta.lent_event, include_usage_, queued_);
    return;
  }
  providers::append_chunk_event(delta.chunk(), include_usage_, queued_);
}

void OpenAISseSink::reserve_for(std::span<const providers::RelayDelta> deltas) {
  std::size_t bytes = queued_.size();
  for (const auto& d : deltas) {
    bytes += d.lent_event.empty() ? kDataField.size() + d.chunk().size() + kEventEnd.size()
                                  : d.lent_event.size();
  }
  queued_.reserve(bytes);
}

awaitable<Status> OpenAISseSink::end() {
  queued_ += "data: [DONE]\n\n";
  co_return co_await end_with(writer_, queued_);
}

awaitable<void> OpenAISseSink::fail(const Error& error) {
  queued_ += sse_error_event(error);
  queued_ += "data: [DONE]\n\n";
  (void)co_await end_with(writer_, queued_);
}

Status PlainTextSink::begin() {
  return writer_.begin_stream(200, "text/plain; charset=utf-8", kSseHeaders);
}

awaitable<Status> PlainTextSink::end() {
  co_return co_await end_with(writer_, queued_);
}

awaitable<void> PlainTextSink::fail(const Error& error) {
  queued_ += "\n[ERROR] " + error.message + "\n";
  (void)co_await end_with(writer_, queued_);
}

}  // namespace bc::api
