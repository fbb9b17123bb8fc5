// Google's error answers read into Errors (see gemini_errors.h).
#include "providers/gemini_errors.h"

#include <algorithm>
#include <charconv>
#include <chrono>
#include <cmath>
#include <optional>
#include <string>

#include <boost/json.hpp>

#include "providers/native.h"
#include "providers/upstream_error.h"

namespace bc::providers {

namespace json = boost::json;
using std::chrono::milliseconds;
using std::chrono::seconds;

namespace {

constexpr std::string_view kName = "gemini";
constexpr milliseconds kDefaultQuotaCooldown = seconds(30);

// A duration at the start of `text`: "46s", "46.2s", "600ms".
std::optional<milliseconds> parse_duration(std::string_view text) {
  double value = 0;
  const auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || !std::isfinite(value) || value < 0) return std::nullopt;
  const std::string_view unit(ptr, static_cast<std::size_t>(text.data() + text.size() - ptr));
  double ms = 0;
  if (unit.starts_with("ms")) {
    ms = value;
  } else if (unit.starts_with("s")) {
    ms = value * 1000;
  } else {
    return std::nullopt;
  }
  ms = std::min(ms, static_cast<double>(kMaxRetryAfter.count()));
  return milliseconds(static_cast<std::int64_t>(std::ceil(ms)));
}

struct GoogleError {
  bool found = false;
  int code = 0;
  std::string status;   // RESOURCE_EXHAUSTED, INVALID_ARGUMENT, ...
  std::string message;  // scrubbed
  std::string reason;   // ErrorInfo.reason, e.g. API_KEY_INVALID
  std::optional<milliseconds> retry_delay;
  bool per_day = false;     // a QuotaFailure violation of a daily quota
  bool zero_quota = false;  // a quota of 0: this tier has no access to the model
};

GoogleError read_google_error(std::string_view body) {
  GoogleError g;
  json::error_code ec;
  json::value parsed = json::parse(body, ec);
  // streamGenerateContent without alt=sse wraps its answer in an array.
  if (!ec && parsed.is_array() && !parsed.as_array().empty()) {
    json::value first = parsed.as_array().front();
    parsed = std::move(first);
  }
  const json::object* error =
      !ec && parsed.is_object() ? object_at(parsed.as_object(), "error") : nullptr;
  if (error == nullptr) {
    g.message = read_upstream_error(body).message;
    return g;
  }
  g.found = true;
  g.code = static_cast<int>(json_int(error->if_contains("code")));
  g.status = text_of(error->if_contains("status"));
  const std::string message = text_of(error->if_contains("message"));
  g.message = scrub_message(message);
  if (const auto* details = error->if_contains("details");
      details != nullptr && details->is_array()) {
    for (const auto& d : details->as_array()) {
      if (!d.is_object()) continue;
      const auto& detail = d.as_object();
      const std::string type = text_of(detail.if_contains("@type"));
      if (type.ends_with("google.rpc.ErrorInfo")) {
        g.reason = text_of(detail.if_contains("reason"));
      } else if (type.ends_with("google.rpc.RetryInfo")) {
        g.retry_delay = parse_duration(text_of(detail.if_contains("retryDelay")));
      } else if (type.ends_with("google.rpc.QuotaFailure")) {
        const auto* violations = detail.if_contains("violations");
        if (violations == nullptr || !violations->is_array()) continue;
        for (const auto& v : violations->as_array()) {
          if (!v.is_object()) continue;
          if (text_of(v.as_object().if_contains("quotaId")).find("PerDay") != std::string::npos) {
            g.per_day = true;
          }
          if (text_of(v.as_object().if_contains("quotaValue")) == "0") g.zero_quota = true;
        }
      }
    }
  }
  // The only other hint: "... Please retry in 46.2s." in the message.
  if (!g.retry_delay) {
    constexpr std::string_view kRetryIn = "retry in ";
    if (const auto at = message.find(kRetryIn); at != std::string::npos) {
      g.retry_delay = parse_duration(std::string_view(message).substr(at + kRetryIn.size()));
    }
  }
  return g;
}

int status_of_google(std::string_view status) {
  static constexpr std::pair<std::string_view, int> kStatuses[] = {
      {"INVALID_ARGUMENT", 400},   {"FAILED_PRECONDITION", 400}, {"OUT_OF_RANGE", 400},
      {"UNAUTHENTICATED", 401},    {"PERMISSION_DENIED", 403},   {"NOT_FOUND", 404},
      {"RESOURCE_EXHAUSTED", 429}, {"CANCELLED", 499},           {"INTERNAL", 500},
      {"UNAVAILABLE", 503},        {"DEADLINE_EXCEEDED", 504},
  };
  for (const auto& [name, code] : kStatuses) {
    if (name == status) return code;
  }
  return 500;
}

// Daily quotas reset at midnight US Pacific. Taken as 08:00 UTC (PST) all year: during
// daylight saving time that is an hour after the reset, never before it.
milliseconds until_pacific_midnight(const Headers& headers) {
  const auto utc = utc_seconds_of_day(headers);
  if (!utc) return std::chrono::hours(1);
  constexpr int kResetUtc = 8 * 3600;
  const int left = ((kResetUtc - *utc) % 86400 + 86400) % 86400;
  return seconds(std::max(left, 60));
}

}  // namespace

Error classify_gemini(int status, const Headers& headers, std::string_view body) {
  const GoogleError g = read_google_error(body);
  const bool in_body = status >= 200 && status < 300;
  int effective = status;
  if (in_body) effective = g.code >= 400 && g.code <= 599 ? g.code : status_of_google(g.status);
  UpstreamError upstream;
  upstream.found = true;
  upstream.message = g.message;

  Error e;
  if (g.reason == "API_KEY_INVALID") {
    // Reported with 400 INVALID_ARGUMENT (sometimes 401): the key, not the request, is bad.
    e = classify_http(kName, 401, headers, upstream);
  } else if (g.status == "FAILED_PRECONDITION") {
    // Free tier not offered in the caller's region, or billing required: this key cannot
    // serve the model until its project changes.
    e = classify_http(kName, 403, headers, upstream);
    e.code = "failed_precondition";
    e.cooldown = kBillingReprobe;
  } else if (effective == 429) {
    e = classify_http(kName, 429, headers, upstream);
    e.kind = ErrorKind::kRateLimited;
    e.retryable = true;
    if (g.zero_quota) {
      e.code = "insufficient_quota";
      e.key_action = KeyAction::kDisable;
      e.cooldown = kBillingReprobe;
    } else if (g.per_day) {
      e.code = "daily_quota_exceeded";
      e.key_action = KeyAction::kCooldown;
      e.cooldown = until_pacific_midnight(headers);
    } else {
      e.code = "rate_limit_exceeded";
      e.key_action = KeyAction::kCooldown;
      e.cooldown =
          std::clamp(g.retry_delay.value_or(retry_after(headers).value_or(kDefaultQuotaCooldown)),
                     milliseconds(1000), kMaxRetryAfter);
    }
  } else {
    e = classify_http(kName, effective, headers, upstream);
  }
  e.message = "upstream gemini ";
  e.message += in_body ? "reported an error" : "answered HTTP " + std::to_string(status);
  if (!g.status.empty()) e.message += " (" + g.status + ")";
  if (!g.message.empty()) e.message += ": " + g.message;
  return e;
}

}  // namespace bc::providers
