// The access log: one JSON line per request, when it completes. The line is formatted on the
// caller's thread (cheap) and written by a dedicated spdlog thread (the file or pipe write is
// off the hot path). Never holds a key or a body: only public key ids and client names.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "core/result.h"

namespace spdlog {
class logger;
namespace details {
class thread_pool;
}
}  // namespace spdlog

namespace bc::telemetry {

class FileSink;

// `at` as UTC ISO 8601 with milliseconds: 2025-01-31T12:34:56.789Z.
std::string iso8601_ms(std::chrono::system_clock::time_point at);

struct AccessRecord {
  std::string_view request_id;
  std::string_view method;
  std::string_view route;   // the route pattern matched ("-" when none)
  std::string_view path;    // without the query string (which may carry secrets)
  std::string_view model;   // the model that served it; empty: none
  std::string_view key;     // that key's public id; empty: none
  std::string_view client;  // the client key's name; empty: no client auth
  int attempts = 0;
  int status = 0;
  std::optional<double> ttfb_ms;  // nullopt: nothing was sent
  double total_ms = 0;
  std::optional<std::int64_t> prompt_tokens;
  std::optional<std::int64_t> completion_tokens;
};

// One line of JSON (no trailing newline) for `record`, stamped with `at` (UTC, milliseconds).
std::string format_access_line(const AccessRecord& record,
                               std::chrono::system_clock::time_point at);

class AccessLog {
 public:
  // `where`: "stdout", "stderr", or a file path (appended to, created if missing). "off" is
  // handled by the caller (no AccessLog). An error when the file cannot be opened.
  static Result<std::unique_ptr<AccessLog>> open(const std::string& where);
  ~AccessLog();
  AccessLog(const AccessLog&) = delete;
  AccessLog& operator=(const AccessLog&) = delete;

  // Thread-safe. Blocks only if the writer thread is 8192 lines behind.
  void write(const AccessRecord& record);
  // Asks the writer thread to flush its sink; returns at once.
  void flush();
  // Reopens the file by its name (log rotation); nothing on stdout or stderr. Thread-safe:
  // each line lands whole in the old file or the new one.
  Status reopen();

 private:
  AccessLog() = default;
  // Declared first so it is destroyed last: it drains the queue before its thread stops.
  std::shared_ptr<spdlog::details::thread_pool> pool_;
  std::shared_ptr<spdlog::logger> logger_;
  std::shared_ptr<FileSink> file_;  // the logger's sink when it writes a file
};

}  // namespace bc::telemetry
