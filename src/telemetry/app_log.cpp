#include "telemetry/app_log.h"

#include <memory>

#include <spdlog/pattern_formatter.h>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>
#include <boost/json.hpp>

#include "telemetry/access_log.h"
#include "telemetry/file_sink.h"

namespace bc::telemetry {

namespace {

// spdlog 1.10 (Debian 12) has no structured fields on a message, so log_event hands them to
// the formatter through this: the default logger is synchronous, so the formatter runs on the
// thread that logs, inside the log_event call that set it.
thread_local const LogFields* t_fields = nullptr;

// The config's level names, which are also what a JSON line says.
std::string_view level_name(spdlog::level::level_enum level) {
  switch (level) {
    case spdlog::level::trace:
    case spdlog::level::debug:
      return "debug";
    case spdlog::level::info:
      return "info";
    case spdlog::level::warn:
      return "warn";
    default:
      return "error";
  }
}

spdlog::level::level_enum parse_level(std::string_view name) {
  if (name == "error") return spdlog::level::err;
  if (name == "warn") return spdlog::level::warn;
  if (name == "debug") return spdlog::level::debug;
  return spdlog::level::info;
}

template <typename Visit>
void for_each_field(const LogFields& f, Visit&& visit) {
  if (!f.request_id.empty()) visit("request_id", f.request_id);
  if (!f.model.empty()) visit("model", f.model);
  if (!f.key.empty()) visit("key", f.key);
  if (!f.error.empty()) visit("error", f.error);
}

void append(spdlog::memory_buf_t& dest, std::string_view text) {
  dest.append(text.data(), text.data() + text.size());
}

// Text: the pattern the gateway always had (local time, level, message), then the fields.
class TextFormatter final : public spdlog::formatter {
 public:
  TextFormatter()
      : pattern_("%Y-%m-%dT%H:%M:%S.%e %^%l%$ %v", spdlog::pattern_time_type::local, "") {}

  void format(const spdlog::details::log_msg& msg, spdlog::memory_buf_t& dest) override {
    pattern_.format(msg, dest);
    if (t_fields != nullptr) {
      for_each_field(*t_fields, [&](std::string_view name, std::string_view value) {
        append(dest, " ");
        append(dest, name);
        append(dest, "=");
        append(dest, value);
      });
    }
    append(dest, "\n");
  }
  std::unique_ptr<spdlog::formatter> clone() const override {
    return std::make_unique<TextFormatter>();
  }

 private:
  spdlog::pattern_formatter pattern_;
};

// JSON lines: {"ts":"<UTC>","level":"warn","msg":"...", then the fields}.
class JsonFormatter final : public spdlog::formatter {
 public:
  void format(const spdlog::details::log_msg& msg, spdlog::memory_buf_t& dest) override {
    auto member = [&](std::string_view name, std::string_view value) {
      append(dest, ",\"");
      append(dest, name);
      append(dest, "\":");
      append(dest, boost::json::serialize(boost::json::string_view(value.data(), value.size())));
    };
    append(dest, "{\"ts\":\"");
    append(dest, iso8601_ms(msg.time));
    append(dest, "\"");
    member("level", level_name(msg.level));
    member("msg", std::string_view(msg.payload.data(), msg.payload.size()));
    if (t_fields != nullptr) for_each_field(*t_fields, member);
    append(dest, "}\n");
  }
  std::unique_ptr<spdlog::formatter> clone() const override {
    return std::make_unique<JsonFormatter>();
  }
};

// The file sink of the logger in force, for reopen_app_log(); null when on stderr.
std::mutex g_mutex;
std::shared_ptr<FileSink> g_file;

}  // namespace

Status configure_app_log(const AppLogOptions& options) {
  spdlog::sink_ptr sink;
  std::shared_ptr<FileSink> file;
  if (options.file.empty()) {
    sink = std::make_shared<spdlog::sinks::stderr_color_sink_mt>();
  } else {
    auto opened = FileSink::open(options.file);
    if (!opened) return std::move(opened).error();
    file = std::move(opened).value();
    sink = file;
  }
  auto logger = std::make_shared<spdlog::logger>("balancedcall", std::move(sink));
  if (options.format == "json") {
    logger->set_formatter(std::make_unique<JsonFormatter>());
  } else {
    logger->set_formatter(std::make_unique<TextFormatter>());
  }
  logger->set_level(parse_level(options.level));
  // Few lines (no line per request unless it failed), each on disk when written.
  logger->flush_on(spdlog::level::trace);
  spdlog::set_default_logger(std::move(logger));
  std::lock_guard lock(g_mutex);
  g_file = std::move(file);
  return {};
}

Status reopen_app_log() {
  std::shared_ptr<FileSink> file;
  {
    std::lock_guard lock(g_mutex);
    file = g_file;
  }
  return file ? file->reopen() : Status{};
}

void log_event(spdlog::level::level_enum level, const LogFields& fields, std::string_view message) {
  auto* logger = spdlog::default_logger_raw();
  if (!logger->should_log(level)) return;
  t_fields = &fields;
  logger->log(level, "{}", message);
  t_fields = nullptr;
}

std::string_view error_class(int status) {
  if (status < 400) return {};
  switch (status) {
    case 401:
    case 403:
      return "auth";
    case 404:
      return "not_found";
    case 429:
      return "rate_limited";
    case 499:
      return "client_gone";
    case 502:
      return "upstream";
    case 503:
      return "unavailable";
    case 504:
      return "timeout";
    default:
      return status < 500 ? "client" : "internal";
  }
}

}  // namespace bc::telemetry
