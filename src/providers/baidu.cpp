#include "providers/baidu.h"

#include <algorithm>
#include <cctype>

#include <boost/json.hpp>

#include "core/json_text.h"
#include "providers/adapter_util.h"
#include "providers/baidu_internal.h"
#include "providers/json_read.h"
#include "providers/native.h"
#include "providers/openai.h"
#include "providers/openai_shape.h"
#include "providers/upstream_error.h"

namespace bc::providers {

namespace json = boost::json;
using std::chrono::hours;
using std::chrono::milliseconds;
using std::chrono::seconds;

namespace baidu {

namespace {

using namespace code_table;

enum class Api { kV2, kLegacy };

std::optional<std::int64_t> number_of(const json::value* v) {
  if (v == nullptr) return std::nullopt;
  if (v->is_int64()) return v->as_int64();
  if (v->is_uint64()) return static_cast<std::int64_t>(v->as_uint64());
  if (v->is_string()) return parse_code(v->as_string());
  return std::nullopt;
}

// An RPM/TPM window refills within 60 s: the provider's hint, else 20 s, at most 60 s.
milliseconds per_minute_cooldown(const Headers& headers) {
  return std::clamp<milliseconds>(retry_after(headers).value_or(kDefaultRateLimitCooldown),
                                  seconds(1), seconds(60));
}

// Baidu's numeric error codes (the legacy API's `error_code`; also seen on v2 in 200 bodies).
std::optional<CodeClass> numeric_class(std::int64_t code, Api api, const Headers& headers) {
  switch (code) {
    case 1:
    case 2:
    case 15:
    case 336000:
    case 336100:
      return CodeClass{kUp, "upstream_error", true, kNone};
    case 3:
      return CodeClass{kUp, "unsupported_method", false, kNone};  // wrong endpoint: config
    case 4:
      return CodeClass{kUp, "upstream_overloaded", true, kNone};
    case 6:
      return CodeClass{kPerm, "permission_denied", true, kOff};
    case 13:
    case 100:
    case 110:
    case 111:
      if (api == Api::kLegacy)
        return CodeClass{kAuth, "invalid_api_key", true, KeyAction::kRefreshCredential};
      return CodeClass{kAuth, "invalid_api_key", true, kOff};
    case 14:
      return CodeClass{kAuth, "invalid_api_key", true, kOff};
    case 17:
      return CodeClass{kRate, "daily_quota_exceeded", true, kCool,
                       until_shanghai_midnight(headers)};
    case 18:
      return CodeClass{kRate, "rate_limit_exceeded", true, kCool, seconds(1)};
    case 19:
      return CodeClass{kRate, "insufficient_quota", true, kOff, kBillingReprobe};
    case 336001:
    case 336002:
    case 336003:
      return CodeClass{kBad, "invalid_request", false, kNone};
    case 336501:
    case 336502:
      return CodeClass{kRate, "rate_limit_exceeded", true, kCool, per_minute_cooldown(headers)};
    default:
      return std::nullopt;
  }
}

bool one_of(std::string_view s, std::initializer_list<std::string_view> list) {
  return std::find(list.begin(), list.end(), s) != list.end();
}

// Baidu v2's string error codes (`error.code`).
std::optional<CodeClass> v2_class(const UpstreamError& u, int status, const Headers& headers) {
  const std::string_view c = u.code;
  if (one_of(c, {"rpm_rate_limit_exceeded", "tpm_rate_limit_exceeded",
                 "input_tpm_rate_limit_exceeded", "output_tpm_rate_limit_exceeded"})) {
    return CodeClass{kRate, "rate_limit_exceeded", true, kCool, per_minute_cooldown(headers)};
  }
  if (c == "user_rate_limit_exceeded") {
    return CodeClass{kRate, "rate_limit_exceeded", true, kCool, seconds(1)};
  }
  if (one_of(c, {"cluster_rate_limit_exceeded", "preemptible_rate_limit_exceeded",
                 "Offline_batch_reasoning_refused"})) {
    return CodeClass{kUp, "upstream_overloaded", true, kNone};
  }
  if (one_of(c, {"invalid_iam_token", "invalid_appid"})) {
    return CodeClass{kAuth, "invalid_api_key", true, kOff};
  }
  if (c == "no_parameter_permission" || (c == "invalid_model" && status == 401)) {
    return CodeClass{kPerm, "permission_denied", true, kOff};
  }
  if (one_of(c, {"characters_too_long", "tokens_too_long"})) {
    return CodeClass{kBad, "context_length_exceeded", false, kNone};
  }
  if (one_of(c, {"malformed_json", "invalid_model", "invalid_messages", "invalid_argument"})) {
    return CodeClass{kBad, "invalid_request", false, kNone};
  }
  if (u.type == "unsafe_request" || c.ends_with("_unsafe")) {
    return CodeClass{kBad, "content_filter", false, kNone};
  }
  if (c == "method_not_supported") return CodeClass{kUp, "unsupported_method", false, kNone};
  return std::nullopt;
}

// Balance problems (arrears) have no code of their own in the v2 error tables: they are told
// apart by their wording, and the key is disabled.
bool mentions_arrears(std::string_view message) {
  std::string m(message);
  for (auto& ch : m) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
  for (std::string_view word : {"arrear", "insufficient balance", "欠费", "余额不足"}) {
    if (m.find(word) != std::string::npos) return true;
  }
  return false;
}

Error classify(Api api, int status, const Headers& headers, std::string_view body) {
  json::error_code ec;
  const json::value parsed = json::parse(body, ec);
  UpstreamError upstream;
  std::optional<std::int64_t> number;
  if (!ec && parsed.is_object()) {
    const json::object& obj = parsed.as_object();
    if (const auto n = number_of(obj.if_contains("error_code")); n && *n != 0) {
      number = n;
      upstream.found = true;
      upstream.code = std::to_string(*n);
      upstream.message = scrub_message(text_of(obj.if_contains("error_msg")));
    } else if (const auto c = number_of(obj.if_contains("code"));
               c && *c != 0 && obj.contains("msg")) {
      number = c;
      upstream.found = true;
      upstream.code = std::to_string(*c);
      upstream.message = scrub_message(text_of(obj.if_contains("msg")));
    }
  }
  if (!upstream.found) upstream = read_upstream_error(body);
  std::optional<CodeClass> cls;
  if (!number) number = parse_code(upstream.code);
  if (number) cls = numeric_class(*number, api, headers);
  if (!cls && upstream.found) cls = v2_class(upstream, status, headers);
  if (!cls && mentions_arrears(upstream.message)) {
    cls = CodeClass{kRate, "insufficient_quota", true, kOff, kBillingReprobe};
  }
  if (!cls) return classify_http("baidu", status, headers, upstream);
  return business_error("baidu", status, upstream.code, upstream.message, *cls);
}

Dialect v2_dialect() {
  return Dialect{"baidu", &classify_v2};
}

// v2 streams are OpenAI's; a chunk or a whole body in Baidu's flat error shape is caught here.
class V2StreamDecoder final : public SseFilterDecoder {
 public:
  V2StreamDecoder()
      : SseFilterDecoder("baidu", std::make_unique<OpenAiStreamDecoder>(v2_dialect())) {}

 protected:
  Result<bool> event(const SseEvent& ev, std::vector<ChatDelta>&) override {
    if (!ev.name.empty()) return true;
    json::error_code ec;
    const json::value parsed = json::parse(ev.data, ec);
    if (ec || !parsed.is_object() || !has_flat_error(parsed.as_object())) return true;
    return classify_v2(200, {}, ev.data);
  }
  Error json_body(std::string_view body) override { return classify_v2(200, {}, body); }
};

}  // namespace

bool has_flat_error(const json::object& body) {
  if (const auto n = number_of(body.if_contains("error_code")); n && *n != 0) return true;
  const auto c = number_of(body.if_contains("code"));
  return c && *c != 0 && body.contains("msg");
}

Error classify_v2(int status, const Headers& headers, std::string_view body) {
  return classify(Api::kV2, status, headers, body);
}

Error classify_legacy(int status, const Headers& headers, std::string_view body) {
  return classify(Api::kLegacy, status, headers, body);
}

}  // namespace baidu

namespace {

bool is_legacy(std::string_view base_url) {
  return base_url.find("wenxinworkshop") != std::string_view::npos;
}

// RFC 3986 unreserved characters pass, everything else is %XX.
std::string percent_encode(std::string_view s) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (const char ch : s) {
    const auto c = static_cast<unsigned char>(ch);
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
      out.push_back(ch);
    } else {
      out.push_back('%');
      out.push_back(kHex[c >> 4]);
      out.push_back(kHex[c & 0xF]);
    }
  }
  return out;
}

// "scheme://host[:port]" of a URL.
std::string_view origin(std::string_view url) {
  const auto scheme = url.find("://");
  if (scheme == std::string_view::npos) return url;
  return url.substr(0, url.find('/', scheme + 3));
}

Error credential_error(ErrorKind kind, std::string message, std::string code, bool disable) {
  Error e;
  e.kind = kind;
  e.message = std::move(message);
  e.code = std::move(code);
  e.source = "upstream:baidu";
  e.retryable = true;
  e.key_action = disable ? KeyAction::kDisable : KeyAction::kNone;
  return e;
}

class BaiduProvider final : public OpenAiProvider {
 public:
  explicit BaiduProvider(ProviderOptions options)
      : OpenAiProvider(std::move(options), baidu::v2_dialect()),
        legacy_(is_legacy(options_.base_url)) {}

  // No embeddings endpoint the gateway speaks: refused at config load (Gateway::create).
  bool embeds() const override { return false; }

  Result<UpstreamRequest> encode(const ChatRequest& request,
                                 const Credential& credential) const override {
    if (!legacy_) {
      const std::string_view base = options_.base_url.empty() ? kBaiduBaseUrl : options_.base_url;
      return openai_request(join_url(base, "/chat/completions"),
                            openai_body_text(request, options_), credential, request.stream);
    }
    std::string_view token = credential.derived_token;
    if (token.empty()) {
      if (credential.secret.find(':') != std::string::npos) {
        return Error::internal(
            "baidu legacy key '" + credential.id + "' has no access token yet: exchange it first",
            "credential_missing");
      }
      token = credential.secret;  // configured as an access token already
    }
    auto body = baidu::legacy_body(request, options_);
    if (!body) return std::move(body).error();
    UpstreamRequest req;
    req.url =
        join_url(options_.base_url, "/" + model_id()) + "?access_token=" + percent_encode(token);
    req.headers.push_back({"Content-Type", "application/json"});
    req.body = json_text(*body);
    req.stream = request.stream;
    return req;
  }

  Result<ChatResponse> decode(const UpstreamResponse& response) const override {
    if (legacy_) return baidu::legacy_decode(response, model_id());
    json::error_code ec;
    json::value parsed = json::parse(response.body, ec);
    if (!ec && parsed.is_object() && baidu::has_flat_error(parsed.as_object())) {
      return baidu::classify_v2(response.status, response.headers, response.body);
    }
    auto decoded = OpenAiProvider::decode(response);
    if (!decoded) return decoded;
    // Qianfan leaves out members OpenAI's schema requires (logprobs, refusal): the answer is
    // completed in its tree instead of relayed as the upstream's bytes.
    json::object completion = decoded->completion_object();
    complete_openai_choices(completion);
    decoded->completion = std::move(completion);
    decoded->raw_json.clear();
    return decoded;
  }

  std::unique_ptr<StreamDecoder> stream_decoder() const override {
    if (legacy_) return baidu::legacy_stream_decoder(model_id());
    return std::make_unique<baidu::V2StreamDecoder>();
  }

  Error classify(int status, const Headers& headers, std::string_view body) const override {
    return legacy_ ? baidu::classify_legacy(status, headers, body)
                   : baidu::classify_v2(status, headers, body);
  }

  std::optional<UpstreamRequest> credential_request(const Credential& credential) const override {
    const auto colon = credential.secret.find(':');
    if (!legacy_ || colon == std::string::npos) return std::nullopt;
    UpstreamRequest req;
    req.method = "POST";
    req.url =
        std::string(origin(options_.base_url)) +
        "/oauth/2.0/token?grant_type=client_credentials&client_id=" +
        percent_encode(std::string_view(credential.secret).substr(0, colon)) +
        "&client_secret=" + percent_encode(std::string_view(credential.secret).substr(colon + 1));
    req.headers.push_back({"Accept", "application/json"});
    return req;
  }

  Result<DerivedCredential> decode_credential(const UpstreamResponse& response) const override {
    json::error_code ec;
    const json::value parsed = json::parse(response.body, ec);
    const json::object* obj = !ec && parsed.is_object() ? &parsed.as_object() : nullptr;
    const auto* token = obj != nullptr ? obj->if_contains("access_token") : nullptr;
    if (response.status >= 200 && response.status < 300 && token != nullptr && token->is_string() &&
        !token->as_string().empty()) {
      DerivedCredential out;
      out.token = std::string(token->as_string());
      const auto* expires = obj->if_contains("expires_in");
      if (expires != nullptr && expires->is_number() && expires->to_number<double>() > 0) {
        // Bounded to ten years: an absurd value must not overflow the conversion to ms.
        const double secs = std::min(expires->to_number<double>(), 10.0 * 365 * 24 * 3600);
        out.expires_in = seconds(static_cast<std::int64_t>(secs));
        // Refresh early: a tenth of the lifetime before it ends, at most an hour before.
        out.refresh_after = out.expires_in - std::min<milliseconds>(hours(1), out.expires_in / 10);
      } else {
        out.refresh_after = hours(1);
      }
      return out;
    }
    // {"error":"invalid_client","error_description":"unknown client id"}: the key pair is wrong.
    const auto* error = obj != nullptr ? obj->if_contains("error") : nullptr;
    if (error != nullptr && error->is_string() && response.status < 500) {
      const auto* description = obj->if_contains("error_description");
      std::string message =
          "baidu token exchange rejected the key: " + scrub_message(error->as_string());
      if (description != nullptr && description->is_string()) {
        message += " (" + scrub_message(description->as_string()) + ")";
      }
      return credential_error(ErrorKind::kAuthentication, std::move(message), "invalid_api_key",
                              true);
    }
    if (response.status == 401 || response.status == 403) {
      return credential_error(
          ErrorKind::kAuthentication,
          "baidu token exchange answered HTTP " + std::to_string(response.status),
          "invalid_api_key", true);
    }
    return credential_error(ErrorKind::kUpstream,
                            "baidu token exchange answered HTTP " +
                                std::to_string(response.status) + " without an access_token",
                            "upstream_error", false);
  }

 private:
  std::string model_id() const {
    return options_.upstream_model.empty() ? options_.model_name : options_.upstream_model;
  }

  bool legacy_;
};

}  // namespace

std::unique_ptr<Provider> make_baidu(ProviderOptions options) {
  return std::make_unique<BaiduProvider>(std::move(options));
}

}  // namespace bc::providers
