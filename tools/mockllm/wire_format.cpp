#include "mockllm/wire_format.h"

#include <boost/json.hpp>

namespace bc::mockllm {
namespace json = boost::json;

std::optional<std::string> WireFormat::api_key(const IncomingRequest& request) const {
  const auto auth = find_header(request.headers, "authorization");
  if (!auth) return std::nullopt;
  constexpr std::string_view kBearer = "Bearer ";
  if (auth->size() <= kBearer.size()) return std::nullopt;
  // The scheme is case-insensitive (RFC 9110 §11.1).
  for (std::size_t i = 0; i < kBearer.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>((*auth)[i])) !=
        std::tolower(static_cast<unsigned char>(kBearer[i]))) {
      return std::nullopt;
    }
  }
  return std::string(auth->substr(kBearer.size()));
}

namespace {

std::int64_t count_words(std::string_view text) {
  std::int64_t words = 0;
  bool in_word = false;
  for (char c : text) {
    const bool space = c == ' ' || c == '\n' || c == '\t' || c == '\r';
    if (!space && !in_word) ++words;
    in_word = !space;
  }
  return words;
}

}  // namespace

Result<ChatCall> parse_openai_like_call(std::string_view body) {
  boost::system::error_code ec;
  const json::value doc = json::parse(body, ec);
  if (ec) return Error::invalid_request("request body is not valid JSON", "invalid_json");
  const auto* object = doc.if_object();
  if (object == nullptr) return Error::invalid_request("request body must be a JSON object");
  const auto* messages = object->if_contains("messages");
  if (messages == nullptr || !messages->is_array() || messages->as_array().empty()) {
    return Error::invalid_request("'messages' must be a non-empty array",
                                  "missing_required_parameter");
  }
  ChatCall call;
  call.model = "mock";
  if (const auto* model = object->if_contains("model"); model && model->is_string()) {
    call.model = std::string(model->as_string());
  }
  if (const auto* stream = object->if_contains("stream"); stream && stream->is_bool()) {
    call.stream = stream->as_bool();
  }
  if (const auto* options = object->if_contains("stream_options");
      options && options->is_object()) {
    const auto* usage = options->as_object().if_contains("include_usage");
    call.include_usage = usage && usage->is_bool() && usage->as_bool();
  }
  if (const auto* id = object->if_contains("request_id"); id && id->is_string()) {
    call.request_id = std::string(id->as_string());
  }
  for (const auto& message : messages->as_array()) {
    const auto* m = message.if_object();
    if (m == nullptr) continue;
    if (const auto* content = m->if_contains("content"); content && content->is_string()) {
      call.prompt_tokens += count_words(content->as_string());
    }
  }
  if (call.prompt_tokens == 0) call.prompt_tokens = 1;
  return call;
}

std::string sse_event(std::string_view payload) {
  std::string out;
  out.reserve(payload.size() + 8);
  out += "data: ";
  out += payload;
  out += "\n\n";
  return out;
}

}  // namespace bc::mockllm
