#include "mockllm/ollama_format.h"

#include <ctime>

#include <boost/json.hpp>

namespace bc::mockllm {
namespace {
namespace json = boost::json;

std::string line(const json::object& object) {
  return json::serialize(object) + "\n";
}

// RFC 3339 UTC, as Ollama's created_at.
std::string rfc3339(std::int64_t unix_seconds) {
  const std::time_t t = static_cast<std::time_t>(unix_seconds);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char text[32];
  std::strftime(text, sizeof text, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return text;
}

std::string_view error_message(int status) {
  switch (status) {
    case 400:
      return "invalid request";
    case 401:
      return "unauthorized";
    case 404:
      return "model not found, try pulling it first";
    case 429:
      return "too many requests";
    case 503:
      return "server busy, please try again. maximum pending requests exceeded";
    default:
      return status < 500 ? "invalid request" : "llama runner process has terminated";
  }
}

class OllamaFormat final : public WireFormat {
 public:
  std::string_view name() const override { return "ollama"; }

  // Ollama has no authentication; a bearer key, when sent, names the fault plan.
  Result<std::string> api_key(const IncomingRequest& request) const override {
    auto key = WireFormat::api_key(request);
    return key ? std::move(*key) : std::string("ollama");
  }

  Result<ChatCall> parse(const IncomingRequest& request) const override {
    auto call = parse_openai_like_call(request.body, /*stream_default=*/true);
    if (call) {
      call->request_id.clear();
      call->include_usage = false;
    }
    return call;
  }

  std::string new_id(std::uint64_t seq) const override { return "ollama" + std::to_string(seq); }

  std::string completion(const Answer& a) const override {
    json::object out = final_line(a);
    out["message"] = message(a, a.text());
    return json::serialize(out);
  }

  std::string_view stream_content_type() const override { return "application/x-ndjson"; }

  std::vector<std::string> stream_open(const Answer&) const override { return {}; }

  // A tool call arrives whole in one line.
  std::size_t stream_piece_count(const Answer& a) const override {
    return a.tool_call ? 1 : a.pieces.size();
  }

  std::string stream_piece(const Answer& a, std::size_t index) const override {
    return line({{"model", a.model},
                 {"created_at", rfc3339(a.created)},
                 {"message", message(a, a.tool_call ? a.text() : a.pieces.at(index))},
                 {"done", false}});
  }

  std::vector<std::string> stream_close(const Answer& a) const override {
    json::object out = final_line(a);
    out["message"] = {{"role", "assistant"}, {"content", ""}};
    return {line(out)};
  }

  std::string stream_error(const Answer&, std::string_view code) const override {
    return line({{"error", code.empty() ? std::string_view("an error was encountered while "
                                                           "running the model")
                                        : code}});
  }

  std::string stream_malformed(const Answer& a) const override {
    const auto whole = stream_piece(a, 0);
    return std::string(broken_half(whole)) + "\n";
  }

  // {"error":"<message>"}; `code` (no business codes here) replaces the message when given.
  std::string error_body(const ErrorSpec& error) const override {
    std::string_view text = error.message.empty() ? error_message(error.status) : error.message;
    if (!error.code.empty()) text = error.code;
    return json::serialize(json::object{{"error", text}});
  }

 private:
  // Text: the content. Tool call: empty content and the whole call, arguments as an object.
  static json::object message(const Answer& a, std::string_view text) {
    if (!a.tool_call) return {{"role", "assistant"}, {"content", text}};
    return {{"role", "assistant"},
            {"content", ""},
            {"tool_calls",
             json::array{
                 {{"function", {{"name", a.tool_call->name}, {"arguments", json::parse(text)}}}}}}};
  }

  // The closing object (without `message`): done, reason, counts, durations in nanoseconds.
  static json::object final_line(const Answer& a) {
    const std::int64_t per_token_ns = 20'000'000;
    return {{"model", a.model},
            {"created_at", rfc3339(a.created)},
            {"message", nullptr},
            {"done", true},
            {"done_reason", "stop"},
            {"total_duration", (a.total_tokens() + 5) * per_token_ns},
            {"load_duration", 5 * per_token_ns},
            {"prompt_eval_count", a.prompt_tokens},
            {"prompt_eval_duration", a.prompt_tokens * per_token_ns},
            {"eval_count", a.completion_tokens()},
            {"eval_duration", a.completion_tokens() * per_token_ns}};
  }
};

}  // namespace

const WireFormat& ollama_format() {
  static const OllamaFormat format;
  return format;
}

}  // namespace bc::mockllm
