// The Zhipu (GLM) adapter (see zhipu.h): OpenAI's format with sampling bounds of its own, its
// business error codes, and the signed-token (JWT) mode.
#include "providers/zhipu.h"

#include <algorithm>
#include <chrono>
#include <optional>
#include <vector>

#include <boost/json.hpp>

#include "core/json_text.h"
#include "providers/adapter_util.h"
#include "providers/embeddings.h"
#include "providers/jwt.h"
#include "providers/native.h"
#include "providers/openai.h"
#include "providers/openai_shape.h"
#include "providers/upstream_error.h"

namespace bc::providers {

namespace json = boost::json;
using std::chrono::hours;
using std::chrono::milliseconds;
using std::chrono::minutes;
using std::chrono::seconds;

namespace {

// Older GLM-4 models reject 0 and 1 (open interval); the official SDK clamps like this.
constexpr double kLow = 0.01;
constexpr double kHigh = 0.99;

// Zhipu's business codes (`error.code`, see
// https://open.bigmodel.cn/dev/api/error-code/error-code-v4). nullopt: not a code we know, classify
// by HTTP status.
std::optional<CodeClass> zhipu_code_class(std::int64_t code, const Headers& headers) {
  using namespace code_table;
  switch (code) {
    // Plain-key mode: a rejected or "expired" key will not get better by itself.
    case 1000:
    case 1001:
    case 1002:
    case 1003:
    case 1004:
    case 1005:
      return CodeClass{kAuth, "invalid_api_key", true, kOff, milliseconds(0)};
    case 1110:
    case 1111:
    case 1112:
    case 1121:
      return CodeClass{kPerm, "account_unavailable", true, kOff, milliseconds(0)};
    case 1120:
      return CodeClass{kPerm, "account_unavailable", true, kCool, seconds(60)};
    case 1113:
      return CodeClass{kRate, "insufficient_quota", true, kOff, kBillingReprobe};
    case 500:
    case 1200:
    case 1230:
    case 1234:
      return CodeClass{kUp, "upstream_error", true, kNone, milliseconds(0)};
    case 1210:
    case 1212:
    case 1213:
    case 1214:
    case 1215:
      return CodeClass{kBad, "invalid_request", false, kNone, milliseconds(0)};
    case 1211:
      return CodeClass{kBad, "model_not_found", false, kNone, milliseconds(0)};
    case 1261:
      return CodeClass{kBad, "context_length_exceeded", false, kNone, milliseconds(0)};
    case 1301:
      return CodeClass{kBad, "content_filter", false, kNone, milliseconds(0)};
    case 1220:
      return CodeClass{kPerm, "permission_denied", true, kOff, milliseconds(0)};
    // API offline or missing for this model: another model may serve the request.
    case 1221:
    case 1222:
      return CodeClass{kUp, "model_unavailable", true, kNone, milliseconds(0)};
    case 1231:
      return CodeClass{kUp, "upstream_error", true, kNone, milliseconds(0)};
    case 1302:
      return CodeClass{kRate, "concurrency_limit_exceeded", true, kCool, seconds(2)};
    case 1303:
      return CodeClass{kRate, "rate_limit_exceeded", true, kCool,
                       retry_after(headers).value_or(seconds(20))};
    case 1304:
      return CodeClass{kRate, "daily_quota_exceeded", true, kCool,
                       until_shanghai_midnight(headers)};
    // The model, not the key, is overloaded: a short cooldown at most, then fail over.
    case 1305:
      return CodeClass{kRate, "rate_limit_exceeded", true, kCool, seconds(3)};
    case 1308:
    case 1310:
      return CodeClass{kRate, "usage_limit_exceeded", true, kCool, hours(5)};
    case 1309:
    case 1311:
      return CodeClass{kPerm, "permission_denied", true, kOff, milliseconds(0)};
    case 1312:
      return CodeClass{kUp, "upstream_overloaded", true, kNone, milliseconds(0)};
    case 1313:
      return CodeClass{kRate, "rate_limit_exceeded", true, kCool, minutes(30)};
    default:
      return std::nullopt;
  }
}

Error classify_zhipu(int status, const Headers& headers, std::string_view body) {
  const UpstreamError upstream = read_upstream_error(body);
  const auto code = parse_code(upstream.code);
  // Classify by the business code first: 1305 has been seen with HTTP 200.
  const auto cls = code ? zhipu_code_class(*code, headers) : std::nullopt;
  if (!cls) return classify_http("zhipu", status, headers, upstream);
  return business_error("zhipu", status, upstream.code, upstream.message, *cls);
}

// JWT mode: a rejected or expired token is re-signed and the same key
// tried once more (the gateway disables the key if that fails the same way).
Error classify_zhipu_jwt(int status, const Headers& headers, std::string_view body) {
  Error e = classify_zhipu(status, headers, body);
  const std::string code = read_upstream_error(body).code;
  if (code == "1000" || code == "1001" || code == "1002" || code == "1003" || code == "1004") {
    e.key_action = KeyAction::kRefreshCredential;
  }
  return e;
}

Dialect zhipu_dialect() {
  return Dialect{"zhipu", &classify_zhipu};
}

Dialect zhipu_jwt_dialect() {
  return Dialect{"zhipu", &classify_zhipu_jwt};
}

// Lifetime of a signed token. One is minted per request, so it only has to outlive the
// request's trip to the server, with room for clock skew.
constexpr std::int64_t kJwtTtlMs = 30 * 60 * 1000;

// `id.secret` signed as an HS256 JWT with Zhipu's extra header member and millisecond times.
Result<std::string> zhipu_jwt(const Credential& credential) {
  const std::string_view key = credential.secret;
  const auto dot = key.find('.');
  if (credential.now_unix_ms <= 0) {
    return Error::internal("zhipu JWT auth needs the request time (Credential::now_unix_ms)",
                           "missing_time");
  }
  const json::object payload{{"api_key", key.substr(0, dot)},
                             {"exp", credential.now_unix_ms + kJwtTtlMs},
                             {"timestamp", credential.now_unix_ms}};
  return hs256_jwt(R"({"alg":"HS256","sign_type":"SIGN"})", json_text(payload),
                   key.substr(dot + 1));
}

Error network_error() {
  Error e = Error::upstream("upstream zhipu stopped with finish_reason network_error");
  e.source = "upstream:zhipu";
  return e;
}

void clamp_open_unit(json::object& body, std::string_view key, bool greedy_at_zero) {
  auto* v = body.if_contains(key);
  if (v == nullptr || !v->is_number()) return;
  const double x = v->to_number<double>();
  if (x <= 0) {
    *v = kLow;
    if (greedy_at_zero && !body.contains("do_sample")) body["do_sample"] = false;
  } else if (x >= 1) {
    *v = kHigh;
  }
}

// Moves `from` to `to` unless the caller already set `to`.
void move_field(json::object& body, std::string_view from, std::string_view to) {
  const auto* v = body.if_contains(from);
  if (v == nullptr) return;
  json::value moved = *v;  // copy first: inserting `to` may reallocate the object
  body.erase(from);
  if (!body.contains(to)) body[to] = std::move(moved);
}

// Finish reasons in OpenAI's words; an error for network_error.
Status map_finish_reason(json::value& fr, bool& changed) {
  if (!fr.is_string()) return {};
  if (fr.as_string() == "sensitive") {
    fr = "content_filter";
    changed = true;
  } else if (fr.as_string() == "network_error") {
    return network_error();
  }
  return {};
}

class ZhipuStreamDecoder final : public OpenAiStreamDecoder {
 public:
  ZhipuStreamDecoder() : OpenAiStreamDecoder(zhipu_dialect()) {}

 protected:
  bool adjusts_chunks() const override { return true; }
  Status adjust(json::object& chunk, bool& changed) override {
    for (auto& choice : chunk.at("choices").as_array()) {
      if (!choice.is_object()) continue;
      auto& c = choice.as_object();
      const auto* index = c.if_contains("index");
      const std::int64_t i = index != nullptr && index->is_int64() ? index->as_int64() : 0;
      auto* fr = c.if_contains("finish_reason");
      if (fr == nullptr || fr->is_null()) {
        c["finish_reason"] = nullptr;  // Zhipu omits it; OpenAI sends null
        changed = true;
        continue;
      }
      if (Status st = map_finish_reason(*fr, changed); !st) return st;
      // Zhipu repeats the finish reason on the usage chunk after a tool call: emit it once.
      if (std::find(finished_.begin(), finished_.end(), i) != finished_.end()) {
        *fr = nullptr;
        changed = true;
      } else {
        finished_.push_back(i);
      }
    }
    return {};
  }

 private:
  std::vector<std::int64_t> finished_;
};

class ZhipuProvider final : public OpenAiProvider {
 public:
  explicit ZhipuProvider(ProviderOptions options)
      : OpenAiProvider(std::move(options), zhipu_dialect()),
        jwt_auth_(options_as<ZhipuOptions>(options_.own_options).jwt_auth) {
    if (jwt_auth_) dialect_ = zhipu_jwt_dialect();
  }

  Result<UpstreamRequest> encode(const ChatRequest& request,
                                 const Credential& credential) const override {
    if (const auto* n = request.body().if_contains("n");
        n != nullptr && n->is_number() && n->to_number<double>() > 1) {
      return Error::invalid_param("n", "zhipu models return a single choice; 'n' must be 1",
                                  "unsupported_parameter");
    }
    json::object body = openai_body(request, options_);
    body.erase("n");
    // Not in Zhipu's parameter list.
    body.erase("frequency_penalty");
    body.erase("presence_penalty");
    clamp_open_unit(body, "temperature", true);
    clamp_open_unit(body, "top_p", false);

    move_field(body, "max_completion_tokens", "max_tokens");
    move_field(body, "user", "user_id");
    // At most one stop word, sent as a one-element list.
    if (auto* stop = body.if_contains("stop")) {
      if (stop->is_string()) {
        *stop = json::array{*stop};
      } else if (stop->is_array() && !stop->as_array().empty()) {
        *stop = json::array{stop->as_array().front()};
      } else {
        body.erase("stop");
      }
    }
    // Only "auto" is accepted: "none" means no tools, a forced choice degrades to "auto".
    const auto* tools = body.if_contains("tools");
    if (tools == nullptr || tools->is_null()) {
      body.erase("tool_choice");
    } else if (const auto* choice = body.if_contains("tool_choice")) {
      if (choice->is_string() && choice->as_string() == "none") {
        body.erase("tools");
        body.erase("tool_choice");
      } else {
        body["tool_choice"] = "auto";
      }
    }

    return signed_request("/chat/completions", json_text(body), credential, request.stream);
  }

  // embedding-3 and the like: OpenAI's shape at {base_url}/embeddings, `dimensions` taken.
  Result<UpstreamRequest> encode_embeddings(const EmbeddingRequest& request,
                                            const Credential& credential) const override {
    return signed_request("/embeddings", openai_embeddings_body(request, options_.upstream_model),
                          credential, false);
  }

  Result<ChatResponse> decode(const UpstreamResponse& response) const override {
    auto parsed = parse_answer(response, dialect_);
    if (!parsed) return std::move(parsed).error();
    json::object completion = std::move(parsed).value();
    if (!completion.contains("object")) completion["object"] = "chat.completion";
    if (auto* choices = completion.if_contains("choices");
        choices != nullptr && choices->is_array()) {
      for (auto& choice : choices->as_array()) {
        if (!choice.is_object()) continue;
        bool changed = false;
        if (auto* fr = choice.as_object().if_contains("finish_reason")) {
          if (Status st = map_finish_reason(*fr, changed); !st) return st.error();
        }
      }
    }
    complete_openai_choices(completion);
    return completion_response(std::move(completion), dialect_);
  }

  std::unique_ptr<StreamDecoder> stream_decoder() const override {
    return std::make_unique<ZhipuStreamDecoder>();
  }

 private:
  bool jwt_auth_;
  // POST {base_url}{path} with the plain key as bearer, or with jwt_auth and an `id.secret`
  // key a JWT signed with it.
  Result<UpstreamRequest> signed_request(std::string_view path, std::string body,
                                         const Credential& credential, bool stream) const {
    const std::string_view base = options_.base_url.empty() ? kZhipuBaseUrl : options_.base_url;
    std::string url = join_url(base, path);
    const auto dot = credential.secret.find('.');
    if (!jwt_auth_ || dot == std::string::npos || dot == 0 || dot + 1 == credential.secret.size()) {
      return openai_request(std::move(url), std::move(body), credential, stream);  // plain key
    }
    auto token = zhipu_jwt(credential);
    if (!token) return std::move(token).error();
    Credential signed_credential{std::move(token).value(), credential.id};
    return openai_request(std::move(url), std::move(body), signed_credential, stream);
  }
};

constexpr std::string_view kZhipuFields[] = {"jwt_auth"};

std::any read_zhipu_options(OptionReader& model) {
  ZhipuOptions o;
  model.get("jwt_auth", o.jwt_auth);
  return o;
}

}  // namespace

// Not shown in /admin/config (no describe), as before the options were the provider's own.
const OptionsSpec kZhipuOptions{kZhipuFields, &read_zhipu_options, nullptr, nullptr};

std::unique_ptr<Provider> make_zhipu(ProviderOptions options) {
  return std::make_unique<ZhipuProvider>(std::move(options));
}

}  // namespace bc::providers
