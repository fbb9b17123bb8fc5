#include "mockllm/zhipu_format.h"

#include <boost/json.hpp>

namespace bc::mockllm {
namespace {
namespace json = boost::json;

json::object usage_json(const Answer& a) {
  return {{"prompt_tokens", a.prompt_tokens},
          {"completion_tokens", a.completion_tokens()},
          {"total_tokens", a.total_tokens()}};
}

struct ErrorShape {
  std::string_view code;
  std::string_view message;
};

// Business code and wording per HTTP status.
ErrorShape error_shape(int status) {
  switch (status) {
    case 400:
      return {"1214", "Invalid request parameters."};
    case 401:
      return {"1000", "Authentication failed."};
    case 403:
      return {"1220", "You do not have permission to access this API."};
    case 404:
      return {"1211", "Model does not exist."};
    case 429:
      return {"1302", "Rate limit reached for requests."};
    // The SDK calls 503 "server flow exceeded"; 1305 is the overload code.
    case 503:
      return {"1305", "The service may be temporarily overloaded, please try again later."};
    default:
      if (status < 500) return {"1210", "Invalid API call parameters."};
      return {"500", "Internal error."};
  }
}

class ZhipuFormat final : public WireFormat {
 public:
  std::string_view name() const override { return "zhipu"; }

  Result<ChatCall> parse(const IncomingRequest& request) const override {
    return parse_openai_like_call(request.body);
  }

  std::string new_id(std::uint64_t seq) const override { return "mockglm" + std::to_string(seq); }

  std::string completion(const Answer& a) const override {
    json::object message{{"role", "assistant"}, {"content", a.text()}};
    if (a.tool_call) {
      message["content"] = "";
      message["tool_calls"] = tool_calls(a);
    }
    json::object out{
        {"id", a.id},
        {"request_id", a.id},
        {"created", a.created},
        {"model", a.model},
        {"choices",
         json::array{
             {{"index", 0}, {"finish_reason", finish_reason(a)}, {"message", std::move(message)}}}},
        {"usage", usage_json(a)},
    };
    return json::serialize(out);
  }

  std::string_view stream_content_type() const override {
    return "text/event-stream;charset=UTF-8";
  }

  std::vector<std::string> stream_open(const Answer&) const override { return {}; }

  // A tool call arrives whole in one chunk that already carries the finish reason.
  std::size_t stream_piece_count(const Answer& a) const override {
    return a.tool_call ? 1 : a.pieces.size();
  }

  std::string stream_piece(const Answer& a, std::size_t index) const override {
    json::object out = header(a);
    if (a.tool_call) {
      out["choices"] = json::array{{{"index", 0},
                                    {"finish_reason", "tool_calls"},
                                    {"delta", {{"tool_calls", tool_calls(a)}}}}};
    } else {
      out["choices"] = json::array{
          {{"index", 0}, {"delta", {{"role", "assistant"}, {"content", a.pieces.at(index)}}}}};
    }
    return sse_event(json::serialize(out));
  }

  // The final chunk carries finish_reason and usage whether or not include_usage was asked.
  std::vector<std::string> stream_close(const Answer& a) const override {
    json::object out = header(a);
    out["choices"] = json::array{{{"index", 0},
                                  {"finish_reason", finish_reason(a)},
                                  {"delta", {{"role", "assistant"}, {"content", ""}}}}};
    out["usage"] = usage_json(a);
    return {sse_event(json::serialize(out)), sse_event("[DONE]")};
  }

  std::string stream_error(const Answer&, std::string_view code) const override {
    json::object out{{"error",
                      {{"code", code.empty() ? std::string_view("1234") : code},
                       {"message", "Network error, please try again later."}}}};
    return sse_event(json::serialize(out));
  }

  std::string stream_malformed(const Answer& a) const override {
    json::object out = header(a);
    out["choices"] =
        json::array{{{"index", 0}, {"delta", {{"role", "assistant"}, {"content", "broken"}}}}};
    return sse_event(broken_half(json::serialize(out)));
  }

  std::string error_body(const ErrorSpec& error) const override {
    const auto shape = error_shape(error.status);
    json::object out{{"error",
                      {{"code", error.code.empty() ? shape.code : error.code},
                       {"message", error.message.empty() ? shape.message : error.message}}}};
    return json::serialize(out);
  }

 private:
  static json::object header(const Answer& a) {
    return {{"id", a.id}, {"created", a.created}, {"model", a.model}};
  }

  static std::string_view finish_reason(const Answer& a) {
    return a.tool_call ? "tool_calls" : "stop";
  }

  // The whole call: arguments as one JSON string.
  static json::array tool_calls(const Answer& a) {
    return {{{"id", "call_" + a.id},
             {"index", 0},
             {"type", "function"},
             {"function", {{"name", a.tool_call->name}, {"arguments", a.text()}}}}};
  }
};

}  // namespace

const WireFormat& zhipu_format() {
  static const ZhipuFormat format;
  return format;
}

}  // namespace bc::mockllm
