#include "telemetry/access_log.h"

#include <ctime>

#include <spdlog/async.h>
#include <spdlog/async_logger.h>
#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>
#include <boost/json.hpp>

#include "telemetry/file_sink.h"

namespace bc::telemetry {

namespace json = boost::json;

std::string iso8601_ms(std::chrono::system_clock::time_point at) {
  const auto ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(at.time_since_epoch()).count();
  const std::time_t secs = static_cast<std::time_t>(ms / 1000);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[40];
  const auto n = std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &tm);
  std::snprintf(buf + n, sizeof buf - n, ".%03dZ", static_cast<int>(ms % 1000));
  return buf;
}

namespace {

// A JSON string literal, escaped by Boost.JSON; "-" for an empty value when `dash`.
void put_string(std::string& out, std::string_view key, std::string_view value, bool dash) {
  out += '"';
  out += key;
  out += "\":";
  out += json::serialize(json::string_view(value.empty() && dash ? "-" : value));
  out += ',';
}

void put_raw(std::string& out, std::string_view key, std::string_view value) {
  out += '"';
  out += key;
  out += "\":";
  out += value;
  out += ',';
}

// Milliseconds with microsecond precision (enough for the gateway's own time), in plain
// decimal notation.
std::string ms(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.3f", v);
  return buf;
}

std::string int_or_null(const std::optional<std::int64_t>& v) {
  return v ? std::to_string(*v) : "null";
}

}  // namespace

std::string format_access_line(const AccessRecord& r, std::chrono::system_clock::time_point at) {
  std::string out = "{";
  out.reserve(384);
  put_raw(out, "ts", "\"" + iso8601_ms(at) + "\"");
  put_string(out, "request_id", r.request_id, false);
  put_string(out, "method", r.method, false);
  put_string(out, "route", r.route, true);
  put_string(out, "path", r.path, false);
  put_string(out, "model", r.model, true);
  put_string(out, "key", r.key, true);
  put_raw(out, "attempts", std::to_string(r.attempts));
  put_raw(out, "status", std::to_string(r.status));
  put_raw(out, "ttfb_ms", r.ttfb_ms ? ms(*r.ttfb_ms) : "null");
  put_raw(out, "total_ms", ms(r.total_ms));
  put_raw(out, "prompt_tokens", int_or_null(r.prompt_tokens));
  put_raw(out, "completion_tokens", int_or_null(r.completion_tokens));
  put_string(out, "client", r.client, true);
  out.back() = '}';
  return out;
}

Result<std::unique_ptr<AccessLog>> AccessLog::open(const std::string& where) {
  std::unique_ptr<AccessLog> log(new AccessLog());
  spdlog::sink_ptr sink;
  try {
    if (where == "stdout") {
      sink = std::make_shared<spdlog::sinks::stdout_sink_mt>();
    } else if (where == "stderr") {
      sink = std::make_shared<spdlog::sinks::stderr_sink_mt>();
    } else {
      auto file = FileSink::open(where);
      if (!file) {
        return Error::internal("cannot open the access log: " + file.error().message, "access_log");
      }
      log->file_ = file.value();
      sink = std::move(file).value();
    }
  } catch (const spdlog::spdlog_ex& e) {
    return Error::internal("cannot open the access log '" + where + "': " + e.what(), "access_log");
  }
  log->pool_ = std::make_shared<spdlog::details::thread_pool>(8192, 1);
  // Not registered in spdlog's global registry: the app logger and this one stay apart.
  log->logger_ = std::make_shared<spdlog::async_logger>("access", std::move(sink), log->pool_,
                                                        spdlog::async_overflow_policy::block);
  log->logger_->set_pattern("%v");
  log->logger_->set_level(spdlog::level::info);
  // Each line reaches the file when the writer thread handles it (the flush is on that thread).
  log->logger_->flush_on(spdlog::level::info);
  return log;
}

AccessLog::~AccessLog() {
  // Queued messages hold the logger; the pool's destructor writes them before it stops.
  logger_.reset();
  pool_.reset();
}

void AccessLog::write(const AccessRecord& record) {
  logger_->info(format_access_line(record, std::chrono::system_clock::now()));
}

Status AccessLog::reopen() {
  return file_ ? file_->reopen() : Status{};
}

void AccessLog::flush() {
  logger_->flush();
}

}  // namespace bc::telemetry
