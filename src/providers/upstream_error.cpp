#include "providers/upstream_error.h"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cmath>

#include <boost/json.hpp>

#include "core/json_text.h"
#include "core/mask.h"

namespace bc::providers {

namespace json = boost::json;

namespace {

constexpr std::size_t kMaxMessageBytes = 1000;
constexpr std::size_t kSecretMinLength = 24;

std::string to_text(const json::value* v) {
  if (v == nullptr) return {};
  if (v->is_string()) return std::string(v->as_string());
  if (v->is_int64()) return std::to_string(v->as_int64());
  if (v->is_uint64()) return std::to_string(v->as_uint64());
  if (v->is_double()) {
    const double d = v->as_double();
    if (std::floor(d) == d && std::abs(d) < 1e15) return std::to_string(static_cast<long long>(d));
    return json_text(*v);
  }
  return {};
}

std::string lower(std::string_view s) {
  std::string out(s);
  for (auto& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

// Characters of keys as providers issue them: base64 ones have '+', '/' and '=' too.
bool is_key_char(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.' ||
         c == '/' || c == '+' || c == '=';
}

void append_token(std::string& out, std::string_view token) {
  // The path of a URL ("https:" ends at ':', so its token starts with "//"): no key has "//".
  if (token.find("//") != std::string_view::npos) {
    out.append(token);
    return;
  }
  const bool has_digit = std::any_of(token.begin(), token.end(), [](char c) {
    return std::isdigit(static_cast<unsigned char>(c));
  });
  const bool has_alpha = std::any_of(token.begin(), token.end(), [](char c) {
    return std::isalpha(static_cast<unsigned char>(c));
  });
  if (token.size() >= kSecretMinLength && has_digit && has_alpha) {
    out += mask_secret(token);
  } else {
    out.append(token);
  }
}

std::optional<std::int64_t> parse_number_ms(std::string_view text, double unit_ms) {
  while (!text.empty() && std::isspace(static_cast<unsigned char>(text.front()))) {
    text.remove_prefix(1);
  }
  while (!text.empty() && std::isspace(static_cast<unsigned char>(text.back()))) {
    text.remove_suffix(1);
  }
  if (text.empty()) return std::nullopt;
  for (char c : text) {
    if (!std::isdigit(static_cast<unsigned char>(c)) && c != '.') return std::nullopt;
  }
  double value = 0;
  const auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || ptr != text.data() + text.size() || !std::isfinite(value)) {
    return std::nullopt;
  }
  const double ms = value * unit_ms;
  if (ms > static_cast<double>(kMaxRetryAfter.count())) return kMaxRetryAfter.count();
  return static_cast<std::int64_t>(std::ceil(ms));
}

bool is_quota_problem(const UpstreamError& u) {
  static constexpr std::string_view kQuota[] = {
      "insufficient_quota",
      "credit_balance_exhausted",
      "organization_spend_limit_exceeded",
      "project_spend_limit_exceeded",
      "organization_usage_limit_exceeded",
      "exceeded_current_quota_error",
      "insufficient_balance",
      "arrearage",
      "throttling.allocationquota",
  };
  const std::string code = lower(u.code);
  const std::string type = lower(u.type);
  return std::any_of(std::begin(kQuota), std::end(kQuota),
                     [&](std::string_view q) { return code == q || type == q; });
}

bool contains(std::string_view haystack, std::string_view needle) {
  return haystack.find(needle) != std::string_view::npos;
}

bool is_content_filter(const UpstreamError& u) {
  const std::string both = lower(u.code) + " " + lower(u.type);
  return contains(both, "content_filter") || contains(both, "data_inspection") ||
         contains(both, "datainspection") || contains(both, "moderation");
}

bool is_overloaded(const UpstreamError& u) {
  const std::string both = lower(u.code) + " " + lower(u.type);
  return contains(both, "overloaded");
}

// The HTTP status an error object inside a 200 answer stands for.
int status_of_error(const UpstreamError& u) {
  int numeric = 0;
  const auto [ptr, ec] = std::from_chars(u.code.data(), u.code.data() + u.code.size(), numeric);
  if (ec == std::errc() && ptr == u.code.data() + u.code.size() && numeric >= 400 &&
      numeric <= 599) {
    return numeric;
  }
  if (is_quota_problem(u)) return 429;
  if (is_overloaded(u)) return 503;
  if (is_content_filter(u)) return 400;
  const std::string both = lower(u.code) + " " + lower(u.type);
  if (contains(both, "rate_limit") || contains(both, "throttling") ||
      contains(both, "limit_requests") || u.type == "requests" || u.type == "tokens") {
    return 429;
  }
  if (contains(both, "authentication") || contains(both, "invalid_api_key")) return 401;
  if (contains(both, "permission")) return 403;
  if (contains(both, "not_found")) return 404;
  if (contains(both, "invalid_request") || contains(both, "badrequest") ||
      contains(both, "context_length") || contains(both, "invalid_value") ||
      contains(both, "invalid_parameter")) {
    return 400;
  }
  return 500;
}

// The upstream's own code when it is a word a client can use, else `fallback`.
std::string client_code(const UpstreamError& u, std::string_view fallback) {
  if (u.code.empty() || std::isdigit(static_cast<unsigned char>(u.code.front()))) {
    return std::string(fallback);
  }
  return u.code;
}

}  // namespace

UpstreamError read_upstream_error(const json::object& body) {
  UpstreamError out;
  const json::object* fields = nullptr;
  if (const auto* err = body.if_contains("error"); err != nullptr && !err->is_null()) {
    out.found = true;
    if (err->is_object()) {
      fields = &err->as_object();
    } else {
      out.message = scrub_message(to_text(err));
    }
  } else if (const auto* object = body.if_contains("object");
             object != nullptr && object->is_string() && object->as_string() == "error") {
    out.found = true;
    fields = &body;
  } else if (const auto* code = body.if_contains("code");
             code != nullptr && body.contains("message") && !body.contains("choices")) {
    const std::string text = to_text(code);
    if (!text.empty() && text != "0") {
      out.found = true;
      fields = &body;
    }
  }
  if (fields != nullptr) {
    out.message = scrub_message(to_text(fields->if_contains("message")));
    out.type = to_text(fields->if_contains("type"));
    out.code = to_text(fields->if_contains("code"));
  }
  return out;
}

UpstreamError read_upstream_error(std::string_view body) {
  json::error_code ec;
  json::value parsed = json::parse(body, ec);
  if (!ec && parsed.is_object()) {
    UpstreamError out = read_upstream_error(parsed.as_object());
    if (out.found) return out;
  }
  UpstreamError out;
  std::string_view text = body;
  while (!text.empty() && std::isspace(static_cast<unsigned char>(text.front()))) {
    text.remove_prefix(1);
  }
  out.message = scrub_message(text.substr(0, 200));
  return out;
}

std::optional<std::chrono::milliseconds> retry_after(const Headers& headers) {
  if (const auto ms = find_header(headers, "retry-after-ms")) {
    if (const auto v = parse_number_ms(*ms, 1)) return std::chrono::milliseconds(*v);
  }
  if (const auto s = find_header(headers, "retry-after")) {
    if (const auto v = parse_number_ms(*s, 1000)) return std::chrono::milliseconds(*v);
  }
  return std::nullopt;
}

std::optional<int> utc_seconds_of_day(const Headers& headers) {
  const auto date = find_header(headers, "date");
  if (!date) return std::nullopt;
  const std::string_view d = *date;
  auto digit = [&](std::size_t i) { return std::isdigit(static_cast<unsigned char>(d[i])) != 0; };
  for (std::size_t i = 0; i + 8 <= d.size(); ++i) {
    if (digit(i) && digit(i + 1) && d[i + 2] == ':' && digit(i + 3) && digit(i + 4) &&
        d[i + 5] == ':' && digit(i + 6) && digit(i + 7)) {
      const int h = (d[i] - '0') * 10 + (d[i + 1] - '0');
      const int m = (d[i + 3] - '0') * 10 + (d[i + 4] - '0');
      const int s = (d[i + 6] - '0') * 10 + (d[i + 7] - '0');
      if (h > 23 || m > 59 || s > 60) return std::nullopt;
      return h * 3600 + m * 60 + std::min(s, 59);
    }
  }
  return std::nullopt;
}

std::string scrub_message(std::string_view text) {
  std::string out;
  out.reserve(std::min(text.size(), kMaxMessageBytes) + 8);
  std::size_t i = 0;
  // Run past the limit by at least one byte, so the cut below can see where a character starts.
  while (i < text.size() && out.size() <= kMaxMessageBytes) {
    if (is_key_char(text[i])) {
      std::size_t j = i;
      while (j < text.size() && is_key_char(text[j])) ++j;
      append_token(out, text.substr(i, j - i));
      i = j;
      continue;
    }
    const auto c = static_cast<unsigned char>(text[i]);
    out.push_back(c < 0x20 || c == 0x7f ? ' ' : text[i]);
    ++i;
  }
  if (out.size() > kMaxMessageBytes) {
    std::size_t cut = kMaxMessageBytes;
    // Never cut inside a UTF-8 sequence.
    while (cut > 0 && (static_cast<unsigned char>(out[cut]) & 0xC0) == 0x80) --cut;
    out.resize(cut);
    out += "…";
  }
  return out;
}

Error classify_http(std::string_view provider, int status, const Headers& headers,
                    const UpstreamError& upstream) {
  Error e;
  e.source = provider.empty() ? "upstream" : "upstream:" + std::string(provider);
  const bool in_body = status >= 200 && status < 300;
  const int effective = in_body ? status_of_error(upstream) : status;

  e.message = "upstream " + std::string(provider.empty() ? "provider" : provider);
  e.message += in_body ? " reported an error" : " answered HTTP " + std::to_string(status);
  if (!upstream.message.empty()) e.message += ": " + upstream.message;

  if (is_content_filter(upstream) && effective >= 400 && effective < 500 && effective != 429) {
    e.kind = ErrorKind::kInvalidRequest;
    e.code = "content_filter";
    return e;
  }
  switch (effective) {
    case 400:
    case 404:
    case 422:
      e.kind = ErrorKind::kInvalidRequest;
      e.code = client_code(upstream, effective == 404 ? "model_not_found" : "invalid_request");
      return e;
    case 413:
      e.kind = ErrorKind::kPayloadTooLarge;
      e.code = "payload_too_large";
      return e;
    case 401:
      e.kind = ErrorKind::kAuthentication;
      e.code = "invalid_api_key";
      e.retryable = true;
      e.key_action = KeyAction::kDisable;
      return e;
    case 403:
      e.kind = ErrorKind::kPermission;
      e.code = client_code(upstream, "permission_denied");
      e.retryable = true;
      e.key_action = KeyAction::kDisable;
      return e;
    case 402:
      e.kind = ErrorKind::kRateLimited;
      e.code = "insufficient_quota";
      e.retryable = true;
      e.key_action = KeyAction::kDisable;
      e.cooldown = kBillingReprobe;
      return e;
    case 408:
      e.kind = ErrorKind::kTimeout;
      e.code = "upstream_timeout";
      e.retryable = true;
      return e;
    case 429:
      e.kind = ErrorKind::kRateLimited;
      e.retryable = true;
      if (is_quota_problem(upstream)) {
        e.code = "insufficient_quota";
        e.key_action = KeyAction::kDisable;
        e.cooldown = kBillingReprobe;
      } else if (is_overloaded(upstream)) {
        // The provider as a whole is saturated (Moonshot's engine_overloaded_error): not the
        // key's fault, fail over instead.
        e.kind = ErrorKind::kUpstream;
        e.code = "upstream_overloaded";
      } else {
        e.code = "rate_limit_exceeded";
        e.key_action = KeyAction::kCooldown;
        e.cooldown = std::max(retry_after(headers).value_or(kDefaultRateLimitCooldown),
                              std::chrono::milliseconds(1000));
      }
      return e;
    default:
      break;
  }
  // 5xx, 529 and anything unexpected: the upstream failed, not the key or the caller.
  e.kind = ErrorKind::kUpstream;
  e.retryable = true;
  e.code = effective == 503 || effective == 529 || is_overloaded(upstream) ? "upstream_overloaded"
                                                                           : "upstream_error";
  return e;
}

Error classify_http(std::string_view provider, int status, const Headers& headers,
                    std::string_view body) {
  return classify_http(provider, status, headers, read_upstream_error(body));
}

}  // namespace bc::providers
