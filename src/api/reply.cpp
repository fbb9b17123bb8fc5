#include "api/reply.h"

#include <chrono>
#include <ctime>

namespace bc::api {

awaitable<void> send_json(net::ResponseWriter& writer, int status, std::string body,
                          const Headers& extra) {
  co_await writer.send(status, "application/json", std::move(body), extra);
}

awaitable<void> send_error(net::ResponseWriter& writer, Error error, Headers extra) {
  const int status = error.status();
  if ((status == 429 || status == 503) && error.cooldown.count() > 0) {
    const auto seconds = (error.cooldown.count() + 999) / 1000;
    extra.push_back({"Retry-After", std::to_string(seconds)});
  }
  co_await writer.send(status, "application/json", error.to_json(), extra);
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
