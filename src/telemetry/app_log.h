// The application log: start and stop, reloads, warnings, failed requests. spdlog's default
// logger, set up once from `log.level`, `log.format` and `log.file`: text lines (as before) or
// one JSON object a line, on stderr or appended to a file that SIGHUP reopens (rotation).
//
// A message about a request carries the fields an operator filters on: request id, model,
// key id, error class. Never a key: `key` is the key's public id (its name or masked form).
#pragma once

#include <string>
#include <string_view>

#include <spdlog/common.h>

#include "core/result.h"

namespace bc::telemetry {

struct AppLogOptions {
  std::string level = "info";   // error | warn | info | debug
  std::string format = "text";  // text | json
  std::string file;             // empty: stderr
};

struct LogFields {
  std::string_view request_id = {};
  std::string_view model = {};
  std::string_view key = {};    // the key's public id, never the secret
  std::string_view error = {};  // the error class ("upstream", "rate_limited", "config", ...)
};

// Replaces spdlog's default logger. Call from main before any other thread logs. An error
// when the file cannot be opened (the previous logger stays).
Status configure_app_log(const AppLogOptions& options);

// Reopens the log file (nothing when logging to stderr). Thread-safe. When the file cannot be
// opened the old one keeps the lines, and the error says why.
Status reopen_app_log();

// One message with its fields, at `level`, through the default logger. In text the fields
// follow the message as ` name=value`; in JSON they are members. Empty fields are left out.
void log_event(spdlog::level::level_enum level, const LogFields& fields, std::string_view message);

// The error class of a response status, for LogFields::error: what an operator groups
// failures by ("client", "auth", "not_found", "rate_limited", "upstream", "timeout",
// "unavailable", "internal"); empty below 400.
std::string_view error_class(int status);

}  // namespace bc::telemetry
