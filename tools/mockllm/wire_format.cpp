#include "mockllm/wire_format.h"

#include <cctype>

#include <boost/json.hpp>

namespace bc::mockllm {
namespace json = boost::json;

Result<std::string> WireFormat::api_key(const IncomingRequest& request) const {
  const auto auth = find_header(request.headers, "authorization");
  constexpr std::string_view kBearer = "Bearer ";
  if (!auth || auth->size() <= kBearer.size()) return credential_error("Missing bearer API key.");
  // The scheme is case-insensitive (RFC 9110 §11.1).
  for (std::size_t i = 0; i < kBearer.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>((*auth)[i])) !=
        std::tolower(static_cast<unsigned char>(kBearer[i]))) {
      return credential_error("Missing bearer API key.");
    }
  }
  return std::string(auth->substr(kBearer.size()));
}

std::size_t WireFormat::stream_piece_count(const Answer& answer) const {
  return answer.pieces.size();
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

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

std::string percent_decode(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (c == '+') {
      out += ' ';
    } else if (c == '%' && i + 2 < text.size() && hex_value(text[i + 1]) >= 0 &&
               hex_value(text[i + 2]) >= 0) {
      out += static_cast<char>(hex_value(text[i + 1]) * 16 + hex_value(text[i + 2]));
      i += 2;
    } else {
      out += c;
    }
  }
  return out;
}

}  // namespace

std::int64_t count_text_words(const json::value& content) {
  if (const auto* text = content.if_string()) return count_words(*text);
  std::int64_t words = 0;
  if (const auto* parts = content.if_array()) {
    for (const auto& part : *parts) words += count_text_words(part);
  } else if (const auto* object = content.if_object()) {
    for (const auto* member : {"text", "content", "parts"}) {
      if (const auto* inner = object->if_contains(member)) words += count_text_words(*inner);
    }
  }
  return words;
}

Result<ChatCall> parse_openai_like_call(std::string_view body, bool stream_default) {
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
  call.stream = stream_default;
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
    if (const auto* content = m->if_contains("content")) {
      call.prompt_tokens += count_text_words(*content);
    }
  }
  if (call.prompt_tokens == 0) call.prompt_tokens = 1;
  if (const auto* tools = object->if_contains("tools"); tools && tools->is_array()) {
    for (const auto& tool : tools->as_array()) {
      const auto* function = tool.is_object() ? tool.as_object().if_contains("function") : nullptr;
      const auto* name =
          function && function->is_object() ? function->as_object().if_contains("name") : nullptr;
      if (name && name->is_string()) {
        call.first_tool = std::string(name->as_string());
        break;
      }
    }
  }
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

std::string named_sse_event(std::string_view name, std::string_view payload) {
  std::string out;
  out.reserve(name.size() + payload.size() + 16);
  out += "event: ";
  out += name;
  out += "\ndata: ";
  out += payload;
  out += "\n\n";
  return out;
}

std::string_view broken_half(std::string_view payload) {
  return payload.substr(0, payload.size() / 2);
}

std::optional<std::string> query_param(std::string_view target, std::string_view name) {
  const auto question = target.find('?');
  if (question == std::string_view::npos) return std::nullopt;
  std::string_view query = target.substr(question + 1);
  while (!query.empty()) {
    const auto amp = query.find('&');
    const auto pair = query.substr(0, amp);
    const auto eq = pair.find('=');
    if (percent_decode(pair.substr(0, eq)) == name) {
      return eq == std::string_view::npos ? std::string() : percent_decode(pair.substr(eq + 1));
    }
    if (amp == std::string_view::npos) break;
    query.remove_prefix(amp + 1);
  }
  return std::nullopt;
}

Error credential_error(std::string message, std::string code) {
  Error error;
  error.kind = ErrorKind::kAuthentication;
  error.message = std::move(message);
  error.code = std::move(code);
  return error;
}

}  // namespace bc::mockllm
