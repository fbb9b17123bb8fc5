#include "providers/ollama.h"

#include <boost/json.hpp>

#include "core/json_text.h"
#include "providers/embeddings.h"
#include "providers/native.h"
#include "providers/openai.h"
#include "providers/upstream_error.h"

namespace bc::providers {

namespace json = boost::json;

namespace {

constexpr std::string_view kName = "ollama";

// ---- errors ----

// {"error":"model \"x\" not found, try pulling it first"} with 404, 400 for a bad request,
// 500 when the runner fails: the HTTP status says it all.
Error classify_ollama(int status, const Headers& headers, std::string_view body) {
  return classify_http(kName, status, headers, body);
}

// ---- time ----

// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's days_from_civil).
std::int64_t days_from_civil(std::int64_t y, unsigned m, unsigned d) {
  y -= m <= 2;
  const std::int64_t era = (y >= 0 ? y : y - 399) / 400;
  const auto yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<std::int64_t>(doe) - 719468;
}

// Unix seconds of an RFC 3339 time ("2024-08-07T03:57:33.03Z", "...+09:00"); 0 when it does
// not parse.
std::int64_t unix_seconds(std::string_view t) {
  auto num = [&](std::size_t at, std::size_t len) -> int {
    if (at + len > t.size()) return -1;
    int v = 0;
    for (std::size_t i = at; i < at + len; ++i) {
      if (t[i] < '0' || t[i] > '9') return -1;
      v = v * 10 + (t[i] - '0');
    }
    return v;
  };
  const int year = num(0, 4), month = num(5, 2), day = num(8, 2);
  const int hour = num(11, 2), minute = num(14, 2), second = num(17, 2);
  if (year < 0 || month < 1 || month > 12 || day < 1 || day > 31 || hour < 0 || minute < 0 ||
      second < 0 || t[4] != '-' || t[7] != '-' || (t[10] != 'T' && t[10] != ' ')) {
    return 0;
  }
  std::int64_t s =
      days_from_civil(year, static_cast<unsigned>(month), static_cast<unsigned>(day)) * 86400 +
      hour * 3600 + minute * 60 + second;
  std::size_t i = 19;
  if (i < t.size() && t[i] == '.') {
    ++i;
    while (i < t.size() && t[i] >= '0' && t[i] <= '9') ++i;
  }
  if (i < t.size() && (t[i] == '+' || t[i] == '-')) {
    const int oh = num(i + 1, 2), om = num(i + 4, 2);
    if (oh >= 0 && om >= 0) s -= (t[i] == '+' ? 1 : -1) * (oh * 3600 + om * 60);
  }
  return s;
}

// ---- request ----

Result<json::object> to_ollama_message(const json::array& messages, std::size_t i) {
  const json::object& m = messages[i].as_object();
  std::string role = text_of(m.if_contains("role"));
  if (role == "developer") role = "system";
  if (role != "system" && role != "user" && role != "assistant" && role != "tool") {
    return Error::invalid_request("message role '" + role + "' is not supported by ollama",
                                  "invalid_messages");
  }
  json::object out{{"role", role}};
  std::string text;
  json::array images;
  for (auto& part : content_parts(m.if_contains("content"))) {
    if (part.kind == ContentPart::Kind::kText) {
      text += part.text;
    } else if (!part.data.empty()) {
      images.emplace_back(part.data);
    } else {
      return Error::invalid_request("ollama takes images inline only (data: URLs with base64)",
                                    "unsupported_image_url");
    }
  }
  out["content"] = std::move(text);
  if (!images.empty()) out["images"] = std::move(images);
  if (role == "assistant") {
    const auto* calls = m.if_contains("tool_calls");
    json::array out_calls;
    if (calls != nullptr && calls->is_array()) {
      for (const auto& c : calls->as_array()) {
        if (!c.is_object()) continue;
        const auto* fn = c.as_object().if_contains("function");
        if (fn == nullptr || !fn->is_object()) continue;
        const std::string name = text_of(fn->as_object().if_contains("name"));
        auto args = tool_arguments(fn->as_object().if_contains("arguments"), name);
        if (!args) return std::move(args).error();
        out_calls.push_back(json::object{
            {"function", json::object{{"name", name}, {"arguments", std::move(args).value()}}}});
      }
    }
    if (!out_calls.empty()) out["tool_calls"] = std::move(out_calls);
  }
  if (role == "tool") {
    std::string name = tool_name_for(messages, i, text_of(m.if_contains("tool_call_id")));
    if (name.empty()) name = text_of(m.if_contains("name"));
    if (!name.empty()) out["tool_name"] = std::move(name);
  }
  return out;
}

Result<json::object> ollama_body(const ChatRequest& request, const ProviderOptions& options) {
  const json::object& in = request.body();
  if (Status st = single_choice(in, kName); !st) return st.error();
  const auto* in_messages = in.if_contains("messages");
  if (in_messages == nullptr || !in_messages->is_array()) {
    return Error::invalid_param("messages", "'messages' must be an array", "invalid_messages");
  }
  const json::array& list = in_messages->as_array();
  json::array messages;
  for (std::size_t i = 0; i < list.size(); ++i) {
    if (!list[i].is_object()) continue;
    auto m = to_ollama_message(list, i);
    if (!m) return std::move(m).error();
    messages.push_back(std::move(m).value());
  }

  json::object body{{"model", upstream_model(options)}, {"messages", std::move(messages)}};
  // Ollama streams unless told otherwise: always say which.
  body["stream"] = request.stream;

  json::object opts;
  if (const auto t = sampling_temperature(in, options)) opts["temperature"] = *t;
  for (const auto& [from, to] : {std::pair<std::string_view, std::string_view>{"top_p", "top_p"},
                                 {"top_k", "top_k"},
                                 {"seed", "seed"},
                                 {"presence_penalty", "presence_penalty"},
                                 {"frequency_penalty", "frequency_penalty"}}) {
    if (const auto* v = in.if_contains(from); v != nullptr && v->is_number()) opts[to] = *v;
  }
  if (const auto n = max_output_tokens(in)) opts["num_predict"] = *n;
  if (auto stop = stop_sequences(in); !stop.empty()) {
    json::array seqs;
    for (auto& s : stop) seqs.emplace_back(s);
    opts["stop"] = std::move(seqs);
  }
  if (!opts.empty()) body["options"] = std::move(opts);

  if (const auto* rf = in.if_contains("response_format"); rf != nullptr && rf->is_object()) {
    const std::string type = text_of(rf->as_object().if_contains("type"));
    if (type == "json_object") body["format"] = "json";
    if (type == "json_schema") {
      const json::object* js = object_at(rf->as_object(), "json_schema");
      const json::object* schema = js != nullptr ? object_at(*js, "schema") : nullptr;
      if (schema != nullptr) {
        body["format"] = *schema;
      } else {
        body["format"] = "json";
      }
    }
  }

  // OpenAI's tool shape as is; Ollama has no tool_choice.
  const auto tools = options.supports_tools ? function_tools(in) : std::vector<FunctionTool>{};
  if (!tools.empty()) {
    json::array out;
    for (const auto& t : tools) {
      json::object fn{{"name", t.name}};
      if (!t.description.empty()) fn["description"] = t.description;
      if (t.parameters.is_object()) fn["parameters"] = t.parameters;
      out.push_back(json::object{{"type", "function"}, {"function", std::move(fn)}});
    }
    body["tools"] = std::move(out);
  }
  return body;
}

// ---- answers ----

std::string chat_id(std::int64_t created) {
  return "chatcmpl-ollama-" + std::to_string(created);
}

// Ollama's calls have no id before v0.12: "call_<created>_<n>" is unique enough to match a
// tool result to its call in the next turn.
std::string call_id(const json::object& call, std::int64_t created, int n) {
  std::string id = text_of(call.if_contains("id"));
  if (!id.empty()) return id;
  return "call_" + std::to_string(created) + "_" + std::to_string(n);
}

struct CallParts {
  std::string name;
  std::string arguments;
};

CallParts call_parts(const json::object& call) {
  const json::object* fn = object_at(call, "function");
  if (fn == nullptr) return {};
  const auto* args = fn->if_contains("arguments");
  std::string arguments = "{}";
  if (args != nullptr && args->is_object()) arguments = json_text(*args);
  if (args != nullptr && args->is_string()) arguments = std::string(args->as_string());
  return {text_of(fn->if_contains("name")), std::move(arguments)};
}

std::string finish_reason_of(std::string_view done_reason, bool tool_calls) {
  if (tool_calls) return "tool_calls";
  if (done_reason == "length") return "length";
  return "stop";  // stop, load, unload
}

Usage usage_of(const json::object& line) {
  return make_usage(json_int(line.if_contains("prompt_eval_count")),
                    json_int(line.if_contains("eval_count")));
}

// ---- stream ----

class OllamaStreamDecoder final : public FramedStreamDecoder {
 public:
  explicit OllamaStreamDecoder(std::string model)
      : FramedStreamDecoder(kName, Framing::kNdjson), model_(std::move(model)) {}

 protected:
  std::string_view end_marker() const override { return "a line with \"done\":true"; }

  Status frame(SseEvent& line, std::vector<ChatDelta>& out) override {
    auto parsed = parse_object(line.data);
    if (!parsed) return std::move(parsed).error();
    const json::object& chunk = *parsed;
    if (chunk.contains("error")) return classify_ollama(200, {}, line.data);
    if (!writer_.has_identity()) {
      created_ = unix_seconds(text_of(chunk.if_contains("created_at")));
      std::string model = text_of(chunk.if_contains("model"));
      writer_.set_identity(chat_id(created_), model.empty() ? model_ : model, created_);
    }
    if (const json::object* message = object_at(chunk, "message")) {
      writer_.reasoning(text_of(message->if_contains("thinking")), out);
      writer_.content(text_of(message->if_contains("content")), out);
      if (const auto* calls = message->if_contains("tool_calls");
          calls != nullptr && calls->is_array()) {
        for (const auto& c : calls->as_array()) {
          if (!c.is_object()) continue;
          const int n = tools_++;
          CallParts parts = call_parts(c.as_object());
          writer_.tool_call(n, call_id(c.as_object(), created_, n), parts.name, parts.arguments,
                            out);
        }
      }
    }
    if (const auto* done = chunk.if_contains("done");
        done != nullptr && done->is_bool() && done->as_bool()) {
      writer_.finish(finish_reason_of(text_of(chunk.if_contains("done_reason")), tools_ > 0), out);
      writer_.usage(usage_of(chunk), out);
      done_ = true;
    }
    return {};
  }

 private:
  std::string model_;
  ChunkWriter writer_;
  std::int64_t created_ = 0;
  int tools_ = 0;
};

// ---- provider ----

class OllamaProvider final : public Provider {
 public:
  explicit OllamaProvider(ProviderOptions options) : options_(std::move(options)) {}

  Result<UpstreamRequest> encode(const ChatRequest& request,
                                 const Credential& credential) const override {
    auto body = ollama_body(request, options_);
    if (!body) return std::move(body).error();
    const std::string_view base =
        options_.base_url.empty() ? kOllamaBaseUrl : std::string_view(options_.base_url);
    // Bearer auth only when a key is configured (a proxy in front of Ollama).
    return openai_request(join_url(base, "/api/chat"), *body, credential, request.stream);
  }

  Result<ChatResponse> decode(const UpstreamResponse& response) const override {
    json::error_code ec;
    json::value parsed = json::parse(response.body, ec);
    if (ec || !parsed.is_object()) {
      return provider_error(kName,
                            "upstream ollama answered with a body that is not a JSON object");
    }
    const json::object& body = parsed.as_object();
    if (body.contains("error")) {
      return classify_ollama(response.status, response.headers, response.body);
    }
    const json::object* message = object_at(body, "message");
    if (message == nullptr) {
      return provider_error(kName, "upstream ollama answered without a 'message'");
    }
    Answer answer;
    answer.created = unix_seconds(text_of(body.if_contains("created_at")));
    answer.id = chat_id(answer.created);
    answer.model = text_of(body.if_contains("model"));
    if (answer.model.empty()) answer.model = upstream_model(options_);
    answer.content = text_of(message->if_contains("content"));
    answer.reasoning = text_of(message->if_contains("thinking"));
    if (const auto* calls = message->if_contains("tool_calls");
        calls != nullptr && calls->is_array()) {
      for (const auto& c : calls->as_array()) {
        if (!c.is_object()) continue;
        const int n = static_cast<int>(answer.tool_calls.size());
        CallParts parts = call_parts(c.as_object());
        answer.tool_calls.push_back(ToolCall{call_id(c.as_object(), answer.created, n),
                                             std::move(parts.name), std::move(parts.arguments)});
      }
    }
    answer.finish_reason =
        finish_reason_of(text_of(body.if_contains("done_reason")), !answer.tool_calls.empty());
    answer.usage = usage_of(body);
    return completion_of(std::move(answer));
  }

  std::unique_ptr<StreamDecoder> stream_decoder() const override {
    return std::make_unique<OllamaStreamDecoder>(upstream_model(options_));
  }

  Error classify(int status, const Headers& headers, std::string_view body) const override {
    return classify_ollama(status, headers, body);
  }

  bool embeds() const override { return true; }
  Result<UpstreamRequest> encode_embeddings(const EmbeddingRequest& request,
                                            const Credential& credential) const override {
    const std::string_view base =
        options_.base_url.empty() ? kOllamaBaseUrl : std::string_view(options_.base_url);
    return ollama_embeddings_request(base, upstream_model(options_), request, credential);
  }
  Result<EmbeddingResponse> decode_embeddings(const UpstreamResponse& response) const override {
    return decode_ollama_embeddings(response, &classify_ollama);
  }

 private:
  ProviderOptions options_;
};

}  // namespace

std::unique_ptr<Provider> make_ollama(ProviderOptions options) {
  return std::make_unique<OllamaProvider>(std::move(options));
}

}  // namespace bc::providers
