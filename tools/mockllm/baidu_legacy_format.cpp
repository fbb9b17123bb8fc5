#include "mockllm/baidu_legacy_format.h"

#include <charconv>
#include <vector>

#include <boost/json.hpp>

#include "mockllm/fault_plan.h"

namespace bc::mockllm {
namespace {
namespace json = boost::json;

constexpr std::string_view kChatPrefix = "/rpc/2.0/ai_custom/v1/wenxinworkshop/chat/";
constexpr std::string_view kHex = "0123456789abcdef";

std::string hex(std::string_view text) {
  std::string out;
  out.reserve(text.size() * 2);
  for (unsigned char c : text) {
    out += kHex[c >> 4];
    out += kHex[c & 0xf];
  }
  return out;
}

std::optional<std::string> unhex(std::string_view text) {
  if (text.size() % 2 != 0) return std::nullopt;
  std::string out;
  for (std::size_t i = 0; i < text.size(); i += 2) {
    const auto hi = kHex.find(text[i]);
    const auto lo = kHex.find(text[i + 1]);
    if (hi == std::string_view::npos || lo == std::string_view::npos) return std::nullopt;
    out += static_cast<char>(hi * 16 + lo);
  }
  return out;
}

std::optional<std::int64_t> to_int(std::string_view text) {
  std::int64_t value = 0;
  const auto* end = text.data() + text.size();
  const auto [ptr, ec] = std::from_chars(text.data(), end, value);
  if (ec != std::errc{} || ptr != end) return std::nullopt;
  return value;
}

std::vector<std::string_view> split(std::string_view text, char separator) {
  std::vector<std::string_view> parts;
  for (;;) {
    const auto at = text.find(separator);
    parts.push_back(text.substr(0, at));
    if (at == std::string_view::npos) return parts;
    text.remove_prefix(at + 1);
  }
}

// error_code per HTTP status the error stands for.
std::int64_t default_code(int status) {
  switch (status) {
    case 400:
      return 336001;
    case 401:
      return 110;
    case 403:
      return 6;
    case 404:
      return 3;
    case 429:
      return 336501;
    case 503:
      return 2;
    default:
      return status < 500 ? 336001 : 336000;
  }
}

std::string_view code_message(std::int64_t code) {
  switch (code) {
    case 1:
      return "Unknown error";
    case 2:
      return "Service temporarily unavailable";
    case 3:
      return "Unsupported openapi method";
    case 4:
      return "Open api request limit reached";
    case 6:
      return "No permission to access data";
    case 13:
      return "Get service token failed";
    case 14:
      return "IAM Certification failed";
    case 17:
      return "Open api daily request limit reached";
    case 18:
      return "Open api qps request limit reached";
    case 19:
      return "Open api total request limit reached";
    case 100:
      return "Invalid parameter";
    case 110:
      return "Access token invalid or no longer valid";
    case 111:
      return "Access token expired";
    case 336000:
      return "Internal error";
    case 336001:
      return "Invalid Argument";
    case 336100:
      return "try again later";
    case 336501:
      return "Rate limit reached for RPM";
    case 336502:
      return "Rate limit reached for TPM";
    default:
      return "Error";
  }
}

json::object error_object(const ErrorSpec& error) {
  const auto forced = error.code.empty() ? std::nullopt : to_int(error.code);
  const std::int64_t code = forced ? *forced : default_code(error.status);
  return {{"error_code", code},
          {"error_msg", error.message.empty() ? code_message(code) : error.message}};
}

class BaiduLegacyFormat final : public WireFormat {
 public:
  std::string_view name() const override { return "baidu-legacy"; }

  // The API key inside the access token; 100 without a token, 110 for one the mock did not
  // issue, 111 once it has expired.
  Result<std::string> api_key(const IncomingRequest& request) const override {
    const auto token = query_param(request.target, "access_token");
    if (!token || token->empty()) return credential_error("Invalid parameter", "100");
    const auto parts = split(*token, '.');
    const auto key = parts.size() == 5 && parts[0] == "24" && parts[4] == "mockllm"
                         ? unhex(parts[1])
                         : std::nullopt;
    const auto expires_at = key ? to_int(parts[3]) : std::nullopt;
    if (!key || key->empty() || !expires_at) {
      return credential_error("Access token invalid or no longer valid", "110");
    }
    if (request.now_unix >= *expires_at) return credential_error("Access token expired", "111");
    return *key;
  }

  Result<ChatCall> parse(const IncomingRequest& request) const override {
    ChatCall call;
    const auto path = request.target.substr(0, request.target.find('?'));
    if (!path.starts_with(kChatPrefix) || path.size() == kChatPrefix.size()) {
      return Error::invalid_request("Unsupported openapi method");
    }
    call.model = std::string(path.substr(kChatPrefix.size()));
    boost::system::error_code ec;
    const json::value doc = json::parse(request.body, ec);
    const auto* object = ec ? nullptr : doc.if_object();
    if (object == nullptr) return Error::invalid_request("Invalid JSON");
    const auto* messages = object->if_contains("messages");
    if (messages == nullptr || !messages->is_array() || messages->as_array().empty()) {
      return Error::invalid_request("the messages field is required");
    }
    const auto& list = messages->as_array();
    if (list.size() % 2 == 0) {
      return Error::invalid_request("the length of messages must be an odd number");
    }
    for (const auto& message : list) {
      const auto* m = message.if_object();
      const auto* role = m ? m->if_contains("role") : nullptr;
      if (role == nullptr || !role->is_string() || role->as_string() == "system") {
        return Error::invalid_request(
            "message role must be user, assistant or function (the system prompt goes in "
            "'system')");
      }
      if (const auto* content = m->if_contains("content")) {
        call.prompt_tokens += count_text_words(*content);
      }
    }
    const auto* last_role = list.back().as_object().if_contains("role");
    if (last_role->as_string() == "assistant") {
      return Error::invalid_request("the last message must be from the user");
    }
    if (const auto* system = object->if_contains("system")) {
      call.prompt_tokens += count_text_words(*system);
    }
    if (call.prompt_tokens == 0) call.prompt_tokens = 1;
    if (const auto* stream = object->if_contains("stream"); stream && stream->is_bool()) {
      call.stream = stream->as_bool();
    }
    if (const auto* functions = object->if_contains("functions");
        functions && functions->is_array()) {
      for (const auto& function : functions->as_array()) {
        const auto* name =
            function.is_object() ? function.as_object().if_contains("name") : nullptr;
        if (name && name->is_string()) {
          call.first_tool = std::string(name->as_string());
          break;
        }
      }
    }
    return call;
  }

  std::string new_id(std::uint64_t seq) const override { return "as-mock" + std::to_string(seq); }

  std::string completion(const Answer& a) const override {
    json::object out = header(a);
    out["result"] = a.tool_call ? "" : a.text();
    out["is_truncated"] = false;
    out["need_clear_history"] = false;
    out["finish_reason"] = finish_reason(a);
    if (a.tool_call) out["function_call"] = function_call(a);
    out["usage"] = usage(a, a.completion_tokens());
    return json::serialize(out);
  }

  std::string_view stream_content_type() const override { return "text/event-stream"; }

  std::vector<std::string> stream_open(const Answer&) const override { return {}; }

  std::size_t stream_piece_count(const Answer& a) const override {
    return a.tool_call ? 1 : a.pieces.size();
  }

  // completion_tokens stays 0 until the final chunk.
  std::string stream_piece(const Answer& a, std::size_t index) const override {
    json::object out = chunk(a, index, false, a.tool_call ? "" : a.pieces.at(index));
    if (a.tool_call) out["function_call"] = function_call(a);
    return sse_event(json::serialize(out));
  }

  // The chunk with is_end true and the real usage; then the body ends.
  std::vector<std::string> stream_close(const Answer& a) const override {
    return {sse_event(json::serialize(chunk(a, stream_piece_count(a), true, "")))};
  }

  std::string stream_error(const Answer&, std::string_view code) const override {
    return sse_event(json::serialize(error_object({.status = 500, .code = code})));
  }

  std::string stream_malformed(const Answer& a) const override {
    return sse_event(broken_half(json::serialize(chunk(a, 0, false, "broken"))));
  }

  std::string error_body(const ErrorSpec& error) const override {
    return json::serialize(error_object(error));
  }

  // Baidu reports every error inside a 200.
  int error_http_status(int) const override { return 200; }

 private:
  static json::object header(const Answer& a) {
    return {{"id", a.id}, {"object", "chat.completion"}, {"created", a.created}};
  }

  static std::string_view finish_reason(const Answer& a) {
    return a.tool_call ? "function_call" : "normal";
  }

  static json::object usage(const Answer& a, std::int64_t completion_tokens) {
    return {{"prompt_tokens", a.prompt_tokens},
            {"completion_tokens", completion_tokens},
            {"total_tokens", a.prompt_tokens + completion_tokens}};
  }

  static json::object function_call(const Answer& a) {
    return {{"name", a.tool_call->name},
            {"arguments", a.text()},
            {"thoughts", "The user wants the weather, so I call " + a.tool_call->name + "."}};
  }

  static json::object chunk(const Answer& a, std::size_t sentence, bool end,
                            std::string_view text) {
    json::object out = header(a);
    out["sentence_id"] = sentence;
    out["is_end"] = end;
    out["is_truncated"] = false;
    out["result"] = text;
    out["need_clear_history"] = false;
    out["finish_reason"] = finish_reason(a);
    out["usage"] = usage(a, end ? a.completion_tokens() : 0);
    return out;
  }
};

}  // namespace

const WireFormat& baidu_legacy_format() {
  static const BaiduLegacyFormat format;
  return format;
}

std::string baidu_access_token(std::string_view api_key, std::int64_t ttl,
                               std::int64_t expires_at) {
  return "24." + hex(api_key) + "." + std::to_string(ttl) + "." + std::to_string(expires_at) +
         ".mockllm";
}

TokenReply baidu_token_exchange(std::string_view target, std::string_view body,
                                std::int64_t now_unix) {
  const std::string form = "?" + std::string(body);
  auto param = [&](std::string_view name) {
    auto value = query_param(target, name);
    return value ? value : query_param(form, name);
  };
  const auto fail = [](std::string_view error, std::string_view description) {
    return TokenReply{
        401, json::serialize(json::object{{"error", error}, {"error_description", description}}),
        ""};
  };
  if (param("grant_type") != "client_credentials") {
    return fail("unsupported_grant_type", "The authorization grant type is not supported");
  }
  const auto client_id = param("client_id");
  if (!client_id || client_id->empty()) return fail("invalid_client", "unknown client id");
  const auto secret = param("client_secret");
  if (!secret || secret->empty()) return fail("invalid_client", "Client authentication failed");
  const FaultPlan plan = parse_fault_plan(*client_id);
  if (plan.status == 401 && plan.fail_first == 0) {
    return fail("invalid_client", "unknown client id");
  }
  const std::string token =
      baidu_access_token(*client_id, plan.token_ttl, now_unix + plan.token_ttl);
  json::object out{{"access_token", token},         {"expires_in", plan.token_ttl},
                   {"refresh_token", "25.mockllm"}, {"scope", "public wise_adapt"},
                   {"session_key", "mockllm"},      {"session_secret", "mockllm"}};
  return {200, json::serialize(out), *client_id};
}

}  // namespace bc::mockllm
