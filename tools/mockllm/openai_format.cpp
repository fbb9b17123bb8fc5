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

// Typical type / code / wording per status (providers.md §2.6).
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

json::object error_object(int status, std::string_view message) {
  const auto shape = error_shape(status);
  return {{"error",
           {{"message", message.empty() ? shape.message : message},
            {"type", shape.type},
            {"param", nullptr},
            {"code", shape.code}}}};
}

class OpenAiFormat final : public WireFormat {
 public:
  std::string_view name() const override { return "openai"; }

  Result<ChatCall> parse(const IncomingRequest& request) const override {
    auto call = parse_openai_like_call(request.body);
    if (call) call->request_id.clear();  // not an OpenAI field
    return call;
  }

  std::string new_id(std::uint64_t seq) const override {
    return "chatcmpl-mock" + std::to_string(seq);
  }

  std::string completion(const Answer& a) const override {
    json::object out{
        {"id", a.id},
        {"object", "chat.completion"},
        {"created", a.created},
        {"model", a.model},
        {"system_fingerprint", kFingerprint},
        {"choices",
         json::array{
             {{"index", 0},
              {"message", {{"role", "assistant"}, {"content", a.text()}, {"refusal", nullptr}}},
              {"logprobs", nullptr},
              {"finish_reason", "stop"}}}},
        {"usage", usage_json(a)},
    };
    return json::serialize(out);
  }

  std::string_view stream_content_type() const override {
    return "text/event-stream; charset=utf-8";
  }

  std::vector<std::string> stream_open(const Answer& a) const override {
    return {sse_event(json::serialize(
        chunk(a, {{"role", "assistant"}, {"content", ""}, {"refusal", nullptr}}, nullptr)))};
  }

  std::string stream_piece(const Answer& a, std::size_t index) const override {
    return sse_event(json::serialize(chunk(a, {{"content", a.pieces.at(index)}}, nullptr)));
  }

  std::vector<std::string> stream_close(const Answer& a) const override {
    std::vector<std::string> events;
    events.push_back(sse_event(json::serialize(chunk(a, json::object{}, "stop"))));
    if (a.include_usage) {
      json::object usage_chunk = header(a);
      usage_chunk["choices"] = json::array{};
      usage_chunk["usage"] = usage_json(a);
      events.push_back(sse_event(json::serialize(usage_chunk)));
    }
    events.push_back(sse_event("[DONE]"));
    return events;
  }

  std::string stream_error(const Answer&) const override {
    return sse_event(json::serialize(error_object(500, "")));
  }

  std::string stream_malformed(const Answer& a) const override {
    const auto whole = json::serialize(chunk(a, {{"content", "broken"}}, nullptr));
    return sse_event(std::string_view(whole).substr(0, whole.size() / 2));
  }

  std::string error_body(int status, std::string_view message) const override {
    return json::serialize(error_object(status, message));
  }

 private:
  static json::object header(const Answer& a) {
    return {{"id", a.id},
            {"object", "chat.completion.chunk"},
            {"created", a.created},
            {"model", a.model},
            {"system_fingerprint", kFingerprint}};
  }

  // A chat.completion.chunk with one choice; every chunk before the usage chunk carries
  // "usage": null when usage was asked for (§2.4).
  static json::object chunk(const Answer& a, json::object delta, json::value finish_reason) {
    json::object out = header(a);
    out["choices"] = json::array{{{"index", 0},
                                  {"delta", std::move(delta)},
                                  {"logprobs", nullptr},
                                  {"finish_reason", std::move(finish_reason)}}};
    if (a.include_usage) out["usage"] = nullptr;
    return out;
  }
};

}  // namespace

const WireFormat& openai_format() {
  static const OpenAiFormat format;
  return format;
}

}  // namespace bc::mockllm
