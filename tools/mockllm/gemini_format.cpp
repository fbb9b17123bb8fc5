#include "mockllm/gemini_format.h"

#include <boost/json.hpp>

namespace bc::mockllm {
namespace {
namespace json = boost::json;

constexpr std::string_view kModelsPrefix = "/v1beta/models/";
constexpr std::string_view kStreamMethod = ":streamGenerateContent";

// "data: <payload>\r\n\r\n"
std::string crlf_event(std::string_view payload) {
  std::string out;
  out.reserve(payload.size() + 10);
  out += "data: ";
  out += payload;
  out += "\r\n\r\n";
  return out;
}

struct ErrorShape {
  std::string_view status;
  std::string_view message;
};

// RPC status and wording per HTTP status.
ErrorShape error_shape(int status) {
  switch (status) {
    case 400:
      return {"INVALID_ARGUMENT", "Request contains an invalid argument."};
    case 401:
      return {"UNAUTHENTICATED", "API key not valid. Please pass a valid API key."};
    case 403:
      return {"PERMISSION_DENIED", "Method doesn't allow unregistered callers."};
    case 404:
      return {"NOT_FOUND", "models/unknown is not found for API version v1beta."};
    case 429:
      return {"RESOURCE_EXHAUSTED",
              "You exceeded your current quota, please check your plan and billing details."};
    case 503:
      return {"UNAVAILABLE", "The model is overloaded. Please try again later."};
    case 504:
      return {"DEADLINE_EXCEEDED", "Deadline expired before operation could complete."};
    default:
      if (status < 500) return {"FAILED_PRECONDITION", "Precondition check failed."};
      return {"INTERNAL", "An internal error has occurred."};
  }
}

json::object error_object(const ErrorSpec& error) {
  const auto shape = error_shape(error.status);
  std::string message(error.message.empty() ? shape.message : error.message);
  json::array details;
  if (error.status == 429) {
    // `code` picks the quota that ran out, e.g. GenerateRequestsPerDayPerProjectPerModel-FreeTier.
    details.push_back(
        {{"@type", "type.googleapis.com/google.rpc.QuotaFailure"},
         {"violations",
          json::array{{{"quotaMetric",
                        "generativelanguage.googleapis.com/generate_content_free_tier_requests"},
                       {"quotaId", error.code.empty()
                                       ? std::string_view(
                                             "GenerateRequestsPerMinutePerProjectPerModel-FreeTier")
                                       : error.code},
                       {"quotaValue", "10"}}}}});
  } else if (!error.code.empty()) {
    // e.g. API_KEY_INVALID on a 400.
    details.push_back({{"@type", "type.googleapis.com/google.rpc.ErrorInfo"},
                       {"reason", error.code},
                       {"domain", "googleapis.com"}});
  }
  if (error.retry_after) {
    message += " Please retry in " + std::to_string(*error.retry_after) + "s.";
    details.push_back({{"@type", "type.googleapis.com/google.rpc.RetryInfo"},
                       {"retryDelay", std::to_string(*error.retry_after) + "s"}});
  }
  json::object inner{{"code", error.status}, {"message", message}, {"status", shape.status}};
  if (!details.empty()) inner["details"] = std::move(details);
  return {{"error", std::move(inner)}};
}

class GeminiFormat final : public WireFormat {
 public:
  std::string_view name() const override { return "gemini"; }

  Result<std::string> api_key(const IncomingRequest& request) const override {
    if (const auto key = find_header(request.headers, "x-goog-api-key"); key && !key->empty()) {
      return std::string(*key);
    }
    if (auto key = query_param(request.target, "key"); key && !key->empty()) {
      return std::move(*key);
    }
    return credential_error(
        "Method doesn't allow unregistered callers. Please use an API key (x-goog-api-key or "
        "?key=).");
  }

  Result<ChatCall> parse(const IncomingRequest& request) const override {
    ChatCall call;
    const auto path = request.target.substr(0, request.target.find('?'));
    const auto colon = path.rfind(':');
    if (!path.starts_with(kModelsPrefix) || colon == std::string_view::npos ||
        colon <= kModelsPrefix.size()) {
      return Error::invalid_request("unknown method");
    }
    call.model = std::string(path.substr(kModelsPrefix.size(), colon - kModelsPrefix.size()));
    call.stream = path.substr(colon) == kStreamMethod;
    if (call.stream && query_param(request.target, "alt") != "sse") {
      return Error::invalid_request(
          "mockllm answers streamGenerateContent only as SSE: add ?alt=sse");
    }
    boost::system::error_code ec;
    const json::value doc = json::parse(request.body, ec);
    const auto* object = ec ? nullptr : doc.if_object();
    if (object == nullptr) return Error::invalid_request("Invalid JSON payload received.");
    const auto* contents = object->if_contains("contents");
    if (contents == nullptr || !contents->is_array() || contents->as_array().empty()) {
      return Error::invalid_request("* GenerateContentRequest.contents: contents is not specified");
    }
    for (const auto& content : contents->as_array()) {
      const auto* c = content.if_object();
      const auto* role = c ? c->if_contains("role") : nullptr;
      if (role &&
          !(role->is_string() && (role->as_string() == "user" || role->as_string() == "model"))) {
        return Error::invalid_request(
            "Please use a valid role: user, model (the system prompt goes in systemInstruction).");
      }
      call.prompt_tokens += count_text_words(content);
    }
    if (const auto* system = object->if_contains("systemInstruction")) {
      call.prompt_tokens += count_text_words(*system);
    }
    if (call.prompt_tokens == 0) call.prompt_tokens = 1;
    if (const auto* tools = object->if_contains("tools"); tools && tools->is_array()) {
      for (const auto& tool : tools->as_array()) {
        const auto* declarations =
            tool.is_object() ? tool.as_object().if_contains("functionDeclarations") : nullptr;
        if (declarations == nullptr || !declarations->is_array()) continue;
        for (const auto& declaration : declarations->as_array()) {
          const auto* name =
              declaration.is_object() ? declaration.as_object().if_contains("name") : nullptr;
          if (name && name->is_string()) {
            call.first_tool = std::string(name->as_string());
            return call;
          }
        }
      }
    }
    return call;
  }

  std::string new_id(std::uint64_t seq) const override {
    return "mockGemini" + std::to_string(seq);
  }

  std::string completion(const Answer& a) const override {
    return json::serialize(response(a, all_parts(a), true, a.completion_tokens()));
  }

  std::string_view stream_content_type() const override { return "text/event-stream"; }

  std::vector<std::string> stream_open(const Answer&) const override { return {}; }

  // A function call arrives whole in one chunk.
  std::size_t stream_piece_count(const Answer& a) const override {
    return a.tool_call ? 1 : a.pieces.size();
  }

  // The last piece carries finishReason; usage is cumulative.
  std::string stream_piece(const Answer& a, std::size_t index) const override {
    const bool last = index + 1 == stream_piece_count(a);
    if (a.tool_call) {
      return crlf_event(json::serialize(response(a, all_parts(a), true, a.completion_tokens())));
    }
    return crlf_event(json::serialize(response(a, json::array{{{"text", a.pieces.at(index)}}}, last,
                                               static_cast<std::int64_t>(index) + 1)));
  }

  // No end marker: after the chunk with finishReason the body ends. An answer without pieces
  // still sends that chunk.
  std::vector<std::string> stream_close(const Answer& a) const override {
    if (stream_piece_count(a) != 0) return {};
    return {crlf_event(json::serialize(response(a, json::array{{{"text", ""}}}, true, 0)))};
  }

  std::string stream_error(const Answer&, std::string_view code) const override {
    return crlf_event(json::serialize(error_object({.status = 503, .code = code})));
  }

  std::string stream_malformed(const Answer& a) const override {
    return crlf_event(
        broken_half(json::serialize(response(a, json::array{{{"text", "broken"}}}, false, 1))));
  }

  std::string error_body(const ErrorSpec& error) const override {
    return json::serialize(error_object(error));
  }

  bool retry_after_header() const override { return false; }

 private:
  static json::array all_parts(const Answer& a) {
    if (a.tool_call) {
      return {{{"functionCall", {{"name", a.tool_call->name}, {"args", json::parse(a.text())}}}}};
    }
    return {{{"text", a.text()}}};
  }

  static json::object response(const Answer& a, json::array parts, bool finished,
                               std::int64_t candidate_tokens) {
    json::object candidate{{"content", {{"parts", std::move(parts)}, {"role", "model"}}},
                           {"index", 0}};
    if (finished) candidate["finishReason"] = "STOP";
    return {{"candidates", json::array{std::move(candidate)}},
            {"usageMetadata",
             {{"promptTokenCount", a.prompt_tokens},
              {"candidatesTokenCount", candidate_tokens},
              {"totalTokenCount", a.prompt_tokens + candidate_tokens}}},
            {"modelVersion", a.model},
            {"responseId", a.id}};
  }
};

}  // namespace

const WireFormat& gemini_format() {
  static const GeminiFormat format;
  return format;
}

}  // namespace bc::mockllm
