#include "mockllm/openai_format.h"

#include <boost/json.hpp>

namespace bc::mockllm {
namespace {
namespace json = boost::json;

constexpr std::string_view kFingerprint = "fp_mockllm";

json::object usage_json(const Answer& a) {
  return {{"prompt_tokens", a.prompt_tokens},
          {"completion_tokens", a.completion_tokens()},
          {"total_tokens", a.total_tokens()}};
}

struct ErrorShape {
  std::string_view type;
  std::string_view code;
  std::string_view message;
};

// Typical type / code / wording per status.
ErrorShape error_shape(int status) {
  switch (status) {
    case 400:
      return {"invalid_request_error", "invalid_value", "Invalid request."};
    case 401:
      return {"invalid_request_error", "invalid_api_key", "Incorrect API key provided."};
    case 403:
      return {"invalid_request_error", "unsupported_country_region_territory",
              "Country, region, or territory not supported."};
    case 404:
      return {"invalid_request_error", "model_not_found",
              "The model does not exist or you do not have access to it."};
    case 429:
      return {"requests", "rate_limit_exceeded",
              "Rate limit reached for requests (mock). Please try again later."};
    case 503:
      return {"server_error", "server_is_overloaded",
              "The engine is currently overloaded, please try again later."};
    default:
      if (status < 500) return {"invalid_request_error", "invalid_request", "Invalid request."};
      return {"server_error", "server_error",
              "The server had an error while processing your request."};
  }
}

}  // namespace

Result<ChatCall> OpenAiFormat::parse(const IncomingRequest& request) const {
  auto call = parse_openai_like_call(request.body);
  if (call) call->request_id.clear();  // not an OpenAI field
  return call;
}

std::string OpenAiFormat::new_id(std::uint64_t seq) const {
  return "chatcmpl-mock" + std::to_string(seq);
}

std::string OpenAiFormat::completion(const Answer& a) const {
  json::object message{{"role", "assistant"}, {"content", a.text()}, {"refusal", nullptr}};
  if (a.tool_call) {
    message["content"] = nullptr;
    message["tool_calls"] =
        json::array{{{"id", tool_call_id(a)},
                     {"type", "function"},
                     {"function", {{"name", a.tool_call->name}, {"arguments", a.text()}}}}};
  }
  json::object out{
      {"id", a.id},
      {"object", "chat.completion"},
      {"created", a.created},
      {"model", a.model},
      {"system_fingerprint", kFingerprint},
      {"choices", json::array{{{"index", 0},
                               {"message", std::move(message)},
                               {"logprobs", nullptr},
                               {"finish_reason", a.tool_call ? "tool_calls" : "stop"}}}},
      {"usage", usage_json(a)},
  };
  return json::serialize(out);
}

std::string_view OpenAiFormat::stream_content_type() const {
  return "text/event-stream; charset=utf-8";
}

std::vector<std::string> OpenAiFormat::stream_open(const Answer& a) const {
  json::object delta{{"role", "assistant"}, {"content", ""}, {"refusal", nullptr}};
  if (a.tool_call) {
    delta["content"] = nullptr;
    delta["tool_calls"] =
        json::array{{{"index", 0},
                     {"id", tool_call_id(a)},
                     {"type", "function"},
                     {"function", {{"name", a.tool_call->name}, {"arguments", ""}}}}};
  }
  return {sse_event(json::serialize(chunk(a, std::move(delta), nullptr)))};
}

std::string OpenAiFormat::stream_piece(const Answer& a, std::size_t index) const {
  json::object delta;
  if (a.tool_call) {
    delta["tool_calls"] =
        json::array{{{"index", 0}, {"function", {{"arguments", a.pieces.at(index)}}}}};
  } else {
    delta["content"] = a.pieces.at(index);
  }
  return sse_event(json::serialize(chunk(a, std::move(delta), nullptr)));
}

std::vector<std::string> OpenAiFormat::stream_close(const Answer& a) const {
  std::vector<std::string> events;
  events.push_back(
      sse_event(json::serialize(chunk(a, json::object{}, a.tool_call ? "tool_calls" : "stop"))));
  if (a.include_usage) {
    json::object usage_chunk = header(a);
    usage_chunk["choices"] = json::array{};
    usage_chunk["usage"] = usage_json(a);
    events.push_back(sse_event(json::serialize(usage_chunk)));
  }
  events.push_back(sse_event("[DONE]"));
  return events;
}

std::string OpenAiFormat::stream_error(const Answer&, std::string_view code) const {
  return sse_event(json::serialize(error_object({.status = 500, .code = code})));
}

std::string OpenAiFormat::stream_malformed(const Answer& a) const {
  const auto whole = json::serialize(chunk(a, {{"content", "broken"}}, nullptr));
  return sse_event(broken_half(whole));
}

std::string OpenAiFormat::error_body(const ErrorSpec& error) const {
  return json::serialize(error_object(error));
}

json::object OpenAiFormat::error_object(const ErrorSpec& error) const {
  const auto shape = error_shape(error.status);
  return {{"error",
           {{"message", error.message.empty() ? shape.message : error.message},
            {"type", shape.type},
            {"param", nullptr},
            {"code", error.code.empty() ? shape.code : error.code}}}};
}

json::object OpenAiFormat::header(const Answer& a) {
  return {{"id", a.id},
          {"object", "chat.completion.chunk"},
          {"created", a.created},
          {"model", a.model},
          {"system_fingerprint", kFingerprint}};
}

// A chat.completion.chunk with one choice; every chunk before the usage chunk carries
// "usage": null when usage was asked for.
json::object OpenAiFormat::chunk(const Answer& a, json::object delta, json::value finish_reason) {
  json::object out = header(a);
  out["choices"] = json::array{{{"index", 0},
                                {"delta", std::move(delta)},
                                {"logprobs", nullptr},
                                {"finish_reason", std::move(finish_reason)}}};
  if (a.include_usage) out["usage"] = nullptr;
  return out;
}

const WireFormat& openai_format() {
  static const OpenAiFormat format;
  return format;
}

}  // namespace bc::mockllm
