#include "api/reply.h"

#include <chrono>
#include <ctime>

#include "providers/anthropic_messages.h"

namespace bc::api {

awaitable<void> send_json(net::ResponseWriter& writer, int status, std::string body,
                          const Headers& extra) {
  co_await writer.send(status, "application/json", std::move(body), extra);
}

namespace {
void add_retry_after(const Error& error, Headers& extra) {
  const int status = error.status();
  if ((status == 429 || status == 503) && error.cooldown.count() > 0) {
    const auto seconds = (error.cooldown.count() + 999) / 1000;
    extra.push_back({"Retry-After", std::to_string(seconds)});
  }
}
}  // namespace

awaitable<void> send_error(net::ResponseWriter& writer, Error error, Headers extra) {
  add_retry_after(error, extra);
  co_await writer.send(error.status(), "application/json", error.to_json(), extra);
}

awaitable<void> send_anthropic_error(net::ResponseWriter& writer, Error error, Headers extra) {
  add_retry_after(error, extra);
  co_await writer.send(error.status(), "application/json", providers::anthropic_error_json(error),
                       extra);
}

std::string sse_error_event(const Error& error) {
  return "data: " + error.to_json() + "\n\n";
}

std::string utc_timestamp(std::chrono::system_clock::time_point at) {
  const auto now = std::chrono::system_clock::to_time_t(at);
  std::tm tm{};
  gmtime_r(&now, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

}  // namespace bc::api
