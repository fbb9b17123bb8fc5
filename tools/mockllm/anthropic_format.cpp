#include "mockllm/anthropic_format.h"

#include <algorithm>
#include <vector>

#include <boost/json.hpp>

namespace bc::mockllm {
namespace {
namespace json = boost::json;

struct ErrorShape {
  std::string_view type;
  std::string_view message;
};

// Error type and wording per status.
ErrorShape error_shape(int status) {
  switch (status) {
    case 400:
      return {"invalid_request_error", "Invalid request."};
    case 401:
      return {"authentication_error", "invalid x-api-key"};
    case 402:
      return {"billing_error", "Your credit balance is too low to access the Anthropic API."};
    case 403:
      return {"permission_error",
              "Your API key does not have permission to use the specified "
              "resource."};
    case 404:
      return {"not_found_error", "The requested resource could not be found."};
    case 413:
      return {"request_too_large", "Request exceeds the maximum allowed number of bytes."};
    case 429:
      return {"rate_limit_error",
              "Number of request tokens has exceeded your per-minute rate limit (mock)"};
    case 504:
      return {"timeout_error", "Request timed out."};
    case 529:
      return {"overloaded_error", "Overloaded"};
    default:
      if (status < 500) return {"invalid_request_error", "Invalid request."};
      return {"api_error", "Internal server error"};
  }
}

std::string_view stop_reason(const Answer& a) {
  return a.tool_call ? "tool_use" : "end_turn";
}

std::string event(std::string_view name, const json::object& payload) {
  return named_sse_event(name, json::serialize(payload));
}

class AnthropicFormat final : public WireFormat {
 public:
  explicit AnthropicFormat(bool count_tokens) : count_tokens_(count_tokens) {}
  std::string_view name() const override { return "anthropic"; }

  Result<std::string> api_key(const IncomingRequest& request) const override {
    const auto key = find_header(request.headers, "x-api-key");
    if (!key || key->empty()) return credential_error("x-api-key header is required");
    return std::string(*key);
  }

  Result<ChatCall> parse(const IncomingRequest& request) const override {
    if (!find_header(request.headers, "anthropic-version")) {
      return Error::invalid_request("anthropic-version: header is required");
    }
    boost::system::error_code ec;
    const json::value doc = json::parse(request.body, ec);
    const auto* object = ec ? nullptr : doc.if_object();
    if (object == nullptr) return Error::invalid_request("request body must be a JSON object");
    const auto* messages = object->if_contains("messages");
    if (messages == nullptr || !messages->is_array() || messages->as_array().empty()) {
      return Error::invalid_request("messages: at least one message is required");
    }
    const auto* model = object->if_contains("model");
    if (model == nullptr || !model->is_string()) {
      return Error::invalid_request("model: Field required");
    }
    const auto* max_tokens = object->if_contains("max_tokens");
    if (!count_tokens_ && (max_tokens == nullptr || !max_tokens->is_number())) {
      return Error::invalid_request("max_tokens: Field required");
    }
    ChatCall call;
    call.model = std::string(model->as_string());
    if (const auto* stream = object->if_contains("stream");
        !count_tokens_ && stream && stream->is_bool()) {
      call.stream = stream->as_bool();
    }
    std::vector<std::string_view> keys;
    for (const auto& member : *object) keys.push_back(member.key());
    std::sort(keys.begin(), keys.end());
    json::array names;
    for (auto key : keys) names.emplace_back(key);
    call.echo = json::serialize(names);
    for (const auto& message : messages->as_array()) {
      const auto* m = message.if_object();
      if (m == nullptr) return Error::invalid_request("messages: each message must be an object");
      const auto* role = m->if_contains("role");
      if (role == nullptr || !role->is_string() ||
          (role->as_string() != "user" && role->as_string() != "assistant")) {
        return Error::invalid_request(
            "messages: roles must be 'user' or 'assistant' (put the system prompt in 'system')");
      }
      if (const auto* content = m->if_contains("content")) {
        call.prompt_tokens += count_text_words(*content);
      }
    }
    if (const auto* system = object->if_contains("system")) {
      call.prompt_tokens += count_text_words(*system);
    }
    if (call.prompt_tokens == 0) call.prompt_tokens = 1;
    if (const auto* tools = object->if_contains("tools"); tools && tools->is_array()) {
      for (const auto& tool : tools->as_array()) {
        const auto* name = tool.is_object() ? tool.as_object().if_contains("name") : nullptr;
        if (name && name->is_string()) {
          call.first_tool = std::string(name->as_string());
          break;
        }
      }
    }
    return call;
  }

  std::string new_id(std::uint64_t seq) const override { return "msg_mock" + std::to_string(seq); }

  std::string completion(const Answer& a) const override {
    if (count_tokens_) return json::serialize(json::object{{"input_tokens", a.prompt_tokens}});
    json::object out = message(a);
    out["content"] = json::array{a.tool_call ? tool_block(a, json::parse(a.text()))
                                             : json::object{{"type", "text"}, {"text", a.text()}}};
    out["stop_reason"] = stop_reason(a);
    out["usage"] = usage(a, a.completion_tokens());
    return json::serialize(out);
  }

  std::string_view stream_content_type() const override {
    return "text/event-stream; charset=utf-8";
  }

  std::vector<std::string> stream_open(const Answer& a) const override {
    json::object start = message(a);
    start["content"] = json::array{};
    start["stop_reason"] = nullptr;
    start["usage"] = usage(a, 1);
    json::object block =
        a.tool_call ? tool_block(a, json::object{}) : json::object{{"type", "text"}, {"text", ""}};
    return {
        event("message_start", {{"type", "message_start"}, {"message", std::move(start)}}),
        event("content_block_start",
              {{"type", "content_block_start"}, {"index", 0}, {"content_block", std::move(block)}}),
        event("ping", {{"type", "ping"}}),
    };
  }

  std::string stream_piece(const Answer& a, std::size_t index) const override {
    return event("content_block_delta", piece(a, a.pieces.at(index)));
  }

  std::vector<std::string> stream_close(const Answer& a) const override {
    return {
        event("content_block_stop", {{"type", "content_block_stop"}, {"index", 0}}),
        event("message_delta",
              {{"type", "message_delta"},
               {"delta", {{"stop_reason", stop_reason(a)}, {"stop_sequence", nullptr}}},
               {"usage", {{"output_tokens", a.completion_tokens()}}}}),
        event("message_stop", {{"type", "message_stop"}}),
    };
  }

  std::string stream_error(const Answer&, std::string_view code) const override {
    return event("error", error_object({.status = 529, .code = code}));
  }

  std::string stream_malformed(const Answer& a) const override {
    return named_sse_event("content_block_delta", broken_half(json::serialize(piece(a, "broken"))));
  }

  std::string error_body(const ErrorSpec& error) const override {
    json::object out = error_object(error);
    out["request_id"] = "req_mockllm";
    return json::serialize(out);
  }

 private:
  static json::object message(const Answer& a) {
    json::object out{{"id", a.id},
                     {"type", "message"},
                     {"role", "assistant"},
                     {"model", a.model},
                     {"content", nullptr},
                     {"stop_reason", nullptr},
                     {"stop_sequence", nullptr}};
    if (!a.echo.empty()) out["mock_request_keys"] = json::parse(a.echo);
    return out;
  }

  bool count_tokens_;

  static json::object usage(const Answer& a, std::int64_t output_tokens) {
    return {{"input_tokens", a.prompt_tokens},
            {"cache_creation_input_tokens", 0},
            {"cache_read_input_tokens", 0},
            {"output_tokens", output_tokens}};
  }

  static json::object tool_block(const Answer& a, json::value input) {
    return {{"type", "tool_use"},
            {"id", "toolu_" + a.id},
            {"name", a.tool_call->name},
            {"input", std::move(input)}};
  }

  static json::object piece(const Answer& a, std::string_view text) {
    json::object delta = a.tool_call
                             ? json::object{{"type", "input_json_delta"}, {"partial_json", text}}
                             : json::object{{"type", "text_delta"}, {"text", text}};
    return {{"type", "content_block_delta"}, {"index", 0}, {"delta", std::move(delta)}};
  }

  // {"type":"error","error":{"type","message"}}; `code` becomes error.details.error_code
  // (e.g. enforced_spend_limit_reached on a 429).
  static json::object error_object(const ErrorSpec& error) {
    const auto shape = error_shape(error.status);
    json::object inner{{"type", shape.type},
                       {"message", error.message.empty() ? shape.message : error.message}};
    if (!error.code.empty()) inner["details"] = {{"error_code", error.code}};
    return {{"type", "error"}, {"error", std::move(inner)}};
  }
};

}  // namespace

const WireFormat& anthropic_format() {
  static const AnthropicFormat format(false);
  return format;
}

const WireFormat& anthropic_count_tokens_format() {
  static const AnthropicFormat format(true);
  return format;
}

}  // namespace bc::mockllm
