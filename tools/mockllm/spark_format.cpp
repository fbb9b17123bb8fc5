#include "mockllm/spark_format.h"

#include <charconv>

#include <boost/json.hpp>

namespace bc::mockllm {
namespace {
namespace json = boost::json;

constexpr std::string_view kErrorSid = "cha000mockerror";

struct ErrorShape {
  std::int64_t code;
  std::string_view message;
};

// Spark code and wording per HTTP status.
ErrorShape error_shape(int status) {
  switch (status) {
    case 400:
      return {10003, "invalid message format"};
    case 401:
      return {11200, "authorization error: no permission or license exceeded"};
    case 403:
      return {10016, "app id authorization error"};
    case 404:
      return {10404, "domain or url not found"};
    case 429:
      return {11202, "rate limit exceeded (QPS)"};
    case 503:
      return {10008, "service capacity insufficient"};
    case 504:
      return {10110, "service busy"};
    default:
      if (status < 500) return {10003, "invalid message format"};
      return {10012, "engine internal error"};
  }
}

json::object error_object(const ErrorSpec& error) {
  auto shape = error_shape(error.status);
  if (!error.code.empty()) {
    std::int64_t forced = 0;
    const auto* end = error.code.data() + error.code.size();
    if (const auto [ptr, ec] = std::from_chars(error.code.data(), end, forced);
        ec == std::errc{} && ptr == end) {
      shape.code = forced;
    }
  }
  return {{"code", shape.code},
          {"message", error.message.empty() ? shape.message : error.message},
          {"sid", kErrorSid}};
}

json::object usage_json(const Answer& a) {
  return {{"prompt_tokens", a.prompt_tokens},
          {"completion_tokens", a.completion_tokens()},
          {"total_tokens", a.total_tokens()}};
}

class SparkFormat final : public WireFormat {
 public:
  std::string_view name() const override { return "spark"; }

  Result<ChatCall> parse(const IncomingRequest& request) const override {
    auto call = parse_openai_like_call(request.body);
    if (call) call->request_id.clear();
    return call;
  }

  std::string new_id(std::uint64_t seq) const override {
    return "cha000mock" + std::to_string(seq) + "@dx0mockllm";
  }

  std::string completion(const Answer& a) const override {
    json::object out{
        {"code", 0},
        {"message", "Success"},
        {"sid", a.id},
        {"choices", json::array{{{"message", message(a, a.text())}, {"index", 0}}}},
        {"usage", usage_json(a)},
    };
    return json::serialize(out);
  }

  std::string_view stream_content_type() const override { return "text/event-stream"; }

  std::vector<std::string> stream_open(const Answer&) const override { return {}; }

  std::size_t stream_piece_count(const Answer& a) const override {
    return a.tool_call ? 1 : a.pieces.size();
  }

  // The last content chunk carries the usage.
  std::string stream_piece(const Answer& a, std::size_t index) const override {
    const bool last = index + 1 == stream_piece_count(a);
    return sse_event(json::serialize(chunk(a, a.tool_call ? a.text() : a.pieces.at(index), last)));
  }

  std::vector<std::string> stream_close(const Answer& a) const override {
    std::vector<std::string> events;
    if (stream_piece_count(a) == 0)
      events.push_back(sse_event(json::serialize(chunk(a, "", true))));
    events.push_back(sse_event("[DONE]"));
    return events;
  }

  std::string stream_error(const Answer&, std::string_view code) const override {
    return sse_event(json::serialize(error_object({.status = 500, .code = code})));
  }

  std::string stream_malformed(const Answer& a) const override {
    return sse_event(broken_half(json::serialize(chunk(a, "broken", false))));
  }

  std::string error_body(const ErrorSpec& error) const override {
    return json::serialize(error_object(error));
  }

 private:
  // Text: the content. Tool call: the whole call in OpenAI's shape, arguments a JSON string.
  static json::object message(const Answer& a, std::string_view text) {
    if (!a.tool_call) return {{"role", "assistant"}, {"content", text}};
    return {{"role", "assistant"},
            {"content", ""},
            {"tool_calls",
             json::array{{{"index", 0},
                          {"id", "call_" + a.id},
                          {"type", "function"},
                          {"function", {{"name", a.tool_call->name}, {"arguments", text}}}}}}};
  }

  static json::object chunk(const Answer& a, std::string_view text, bool with_usage) {
    json::object out{{"code", 0},
                     {"message", "Success"},
                     {"sid", a.id},
                     {"id", a.id},
                     {"created", a.created},
                     {"choices", json::array{{{"delta", message(a, text)}, {"index", 0}}}}};
    if (with_usage) out["usage"] = usage_json(a);
    return out;
  }
};

}  // namespace

const WireFormat& spark_format() {
  static const SparkFormat format;
  return format;
}

}  // namespace bc::mockllm
