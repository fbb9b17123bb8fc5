#include "providers/anthropic.h"

#include <algorithm>
#include <cctype>
#include <map>

#include <boost/json.hpp>

#include "core/json_text.h"
#include "providers/anthropic_wire.h"
#include "providers/native.h"
#include "providers/openai.h"
#include "providers/upstream_error.h"

namespace bc::providers {

namespace json = boost::json;

namespace {

constexpr std::string_view kName = kAnthropicName;

std::string lower(std::string_view s) {
  std::string out(s);
  for (auto& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

// ---- errors ----

// The HTTP status an error type stands for when it arrives inside a 200 body or stream.
int status_of_type(std::string_view type) {
  static constexpr std::pair<std::string_view, int> kTypes[] = {
      {"invalid_request_error", 400}, {"authentication_error", 401},
      {"billing_error", 402},         {"permission_error", 403},
      {"not_found_error", 404},       {"request_too_large", 413},
      {"rate_limit_error", 429},      {"api_error", 500},
      {"timeout_error", 504},         {"overloaded_error", 529},
  };
  for (const auto& [name, status] : kTypes) {
    if (name == type) return status;
  }
  return 500;
}

// error.details.error_code, which marks a spend cap behind a 429.
std::string detail_code(std::string_view body) {
  json::error_code ec;
  const json::value parsed = json::parse(body, ec);
  if (ec || !parsed.is_object()) return {};
  const auto* error = parsed.as_object().if_contains("error");
  if (error == nullptr || !error->is_object()) return {};
  const auto* details = error->as_object().if_contains("details");
  if (details == nullptr || !details->is_object()) return {};
  return text_of(details->as_object().if_contains("error_code"));
}

}  // namespace

Error classify_anthropic(int status, const Headers& headers, std::string_view body) {
  const UpstreamError upstream = read_upstream_error(body);
  const bool in_body = status >= 200 && status < 300;
  const int effective = in_body ? status_of_type(upstream.type) : status;
  const std::string message = lower(upstream.message);
  const bool spend_cap =
      (effective == 429 && detail_code(body) == "enforced_spend_limit_reached") ||
      (effective == 400 && (message.find("spend limit") != std::string::npos ||
                            message.find("spending limit") != std::string::npos));
  Error e = classify_http(kName, effective, headers, upstream);
  if (spend_cap) {
    // The workspace or organization hit its spend cap: the key is useless until it resets
    // (next month) or an operator raises it; keys of other organizations may still work.
    e.kind = ErrorKind::kRateLimited;
    e.code = "insufficient_quota";
    e.retryable = true;
    e.key_action = KeyAction::kDisable;
    e.cooldown = kBillingReprobe;
  }
  if (in_body) {
    e.message = "upstream anthropic reported an error";
    if (!upstream.message.empty()) e.message += ": " + upstream.message;
  }
  return e;
}

std::string finish_reason_of(std::string_view stop_reason) {
  if (stop_reason == "max_tokens" || stop_reason == "model_context_window_exceeded") {
    return "length";
  }
  if (stop_reason == "tool_use") return "tool_calls";
  if (stop_reason == "refusal") return "content_filter";
  return "stop";  // end_turn, stop_sequence, pause_turn, or none
}

namespace {

// ---- request ----

json::object text_block(std::string text) {
  return {{"type", "text"}, {"text", std::move(text)}};
}

json::array user_blocks(const json::value* content) {
  json::array blocks;
  for (auto& part : content_parts(content)) {
    if (part.kind == ContentPart::Kind::kText) {
      if (!part.text.empty()) blocks.push_back(text_block(std::move(part.text)));
    } else if (!part.data.empty()) {
      blocks.push_back(json::object{{"type", "image"},
                                    {"source", json::object{{"type", "base64"},
                                                            {"media_type", part.media_type},
                                                            {"data", part.data}}}});
    } else {
      blocks.push_back(json::object{{"type", "image"},
                                    {"source", json::object{{"type", "url"}, {"url", part.url}}}});
    }
  }
  return blocks;
}

Result<json::array> assistant_blocks(const json::object& message) {
  json::array blocks;
  std::string text = message_text(message.if_contains("content"));
  if (!text.empty()) blocks.push_back(text_block(std::move(text)));
  const auto* calls = message.if_contains("tool_calls");
  if (calls == nullptr || !calls->is_array()) return blocks;
  for (const auto& c : calls->as_array()) {
    if (!c.is_object()) continue;
    const auto& call = c.as_object();
    const auto* fn = call.if_contains("function");
    if (fn == nullptr || !fn->is_object()) continue;
    const std::string name = text_of(fn->as_object().if_contains("name"));
    auto input = tool_arguments(fn->as_object().if_contains("arguments"), name);
    if (!input) return std::move(input).error();
    blocks.push_back(json::object{{"type", "tool_use"},
                                  {"id", text_of(call.if_contains("id"))},
                                  {"name", name},
                                  {"input", std::move(input).value()}});
  }
  return blocks;
}

// Appends blocks as a turn of `role`, merged into the previous turn of the same role
// (tool results of parallel calls belong in one user message).
void append_turn(json::array& messages, std::string_view role, json::array blocks) {
  if (blocks.empty()) return;  // the API rejects empty content
  if (!messages.empty() && messages.back().as_object().at("role").as_string() == role) {
    auto& content = messages.back().as_object().at("content").as_array();
    for (auto& b : blocks) content.push_back(std::move(b));
    return;
  }
  messages.push_back(json::object{{"role", role}, {"content", std::move(blocks)}});
}

Result<json::object> anthropic_body(const ChatRequest& request, const ProviderOptions& options) {
  const json::object& in = request.body();
  json::array messages;
  TurnWriters write;
  write.user = [&](const json::object& m) {
    append_turn(messages, "user", user_blocks(m.if_contains("content")));
  };
  write.assistant = [&](const json::object& m) -> Status {
    auto blocks = assistant_blocks(m);
    if (!blocks) return std::move(blocks).error();
    append_turn(messages, "assistant", std::move(blocks).value());
    return {};
  };
  write.tool = [&](const json::array& list, std::size_t i) {
    const json::object& m = list[i].as_object();
    append_turn(messages, "user",
                json::array{json::object{{"type", "tool_result"},
                                         {"tool_use_id", text_of(m.if_contains("tool_call_id"))},
                                         {"content", message_text(m.if_contains("content"))}}});
  };
  auto walked = walk_messages(in, kName, write);
  if (!walked) return std::move(walked).error();
  const std::string system = std::move(walked).value();
  // A turn that is one text block is sent as a plain string, as people write it.
  for (auto& m : messages) {
    auto& content = m.as_object().at("content");
    const auto& blocks = content.as_array();
    if (blocks.size() == 1 && blocks[0].as_object().at("type") == "text") {
      json::value text = blocks[0].as_object().at("text");
      content = std::move(text);
    }
  }

  json::object body;
  body["model"] = upstream_model(options);
  body["max_tokens"] = max_output_tokens(in).value_or(kAnthropicDefaultMaxTokens);
  if (!system.empty()) body["system"] = system;
  body["messages"] = std::move(messages);
  // Anthropic's range is [0, 1]; OpenAI's is [0, 2].
  if (const auto t = sampling_temperature(in, options))
    body["temperature"] = std::clamp(*t, 0.0, 1.0);
  for (std::string_view key : {"top_p", "top_k"}) {
    if (const auto* v = in.if_contains(key); v != nullptr && v->is_number()) body[key] = *v;
  }
  if (auto stop = stop_sequences(in); !stop.empty()) {
    json::array seqs;
    for (auto& s : stop) seqs.emplace_back(s);
    body["stop_sequences"] = std::move(seqs);
  }
  if (const auto* user = in.if_contains("user"); user != nullptr && user->is_string()) {
    body["metadata"] = json::object{{"user_id", *user}};
  }
  if (request.stream) body["stream"] = true;

  const auto tools = options.supports_tools ? function_tools(in) : std::vector<FunctionTool>{};
  if (!tools.empty()) {
    json::array out;
    for (const auto& t : tools) {
      json::object tool{{"name", t.name}};
      if (!t.description.empty()) tool["description"] = t.description;
      tool["input_schema"] =
          t.parameters.is_object()
              ? t.parameters
              : json::value(json::object{{"type", "object"}, {"properties", json::object()}});
      out.push_back(std::move(tool));
    }
    body["tools"] = std::move(out);
    const ToolChoice choice = tool_choice(in);
    json::object tc;
    switch (choice.mode) {
      case ToolChoice::Mode::kUnset:
      case ToolChoice::Mode::kAuto:
        tc["type"] = "auto";
        break;
      case ToolChoice::Mode::kNone:
        tc["type"] = "none";
        break;
      case ToolChoice::Mode::kRequired:
        tc["type"] = "any";
        break;
      case ToolChoice::Mode::kNamed:
        tc["type"] = "tool";
        tc["name"] = choice.name;
        break;
    }
    const auto* parallel = in.if_contains("parallel_tool_calls");
    const bool single = parallel != nullptr && parallel->is_bool() && !parallel->as_bool();
    if (single && choice.mode != ToolChoice::Mode::kNone) tc["disable_parallel_tool_use"] = true;
    if (choice.mode != ToolChoice::Mode::kUnset || single) body["tool_choice"] = std::move(tc);
  }
  return body;
}

// ---- stream ----

}  // namespace

Status AnthropicEventDecoder::frame(SseEvent& ev, std::vector<ChatDelta>& out) {
  if (ev.data.find_first_not_of(" \t\r\n") == std::string::npos) return {};
  if (ev.name == "error") return classify_anthropic(200, {}, ev.data);
  auto parsed = parse_object(ev.data);
  if (!parsed) return std::move(parsed).error();
  std::string type = text_of(parsed->if_contains("type"));
  if (type.empty()) type = ev.name;
  if (type == "error") return classify_anthropic(200, {}, ev.data);
  return event(ev, *parsed, type, out);
}

namespace {

class AnthropicStreamDecoder final : public AnthropicEventDecoder {
 public:
  explicit AnthropicStreamDecoder(std::string model) : model_(std::move(model)) {}

 protected:
  Status event(const SseEvent& /*ev*/, json::object& event, const std::string& type,
               std::vector<ChatDelta>& out) override {
    if (!writer_.has_identity() && type != "message_start") writer_.set_identity({}, model_, 0);

    if (type == "message_start") {
      const auto* m = event.if_contains("message");
      const json::object empty;
      const json::object& message = m != nullptr && m->is_object() ? m->as_object() : empty;
      std::string model = text_of(message.if_contains("model"));
      writer_.set_identity(text_of(message.if_contains("id")), model.empty() ? model_ : model, 0);
      if (const auto* u = message.if_contains("usage"); u != nullptr && u->is_object()) {
        tokens_.read(u->as_object());
      }
      writer_.role(out);
    } else if (type == "content_block_start") {
      const auto* b = event.if_contains("content_block");
      if (b == nullptr || !b->is_object()) return {};
      const json::object& block = b->as_object();
      const std::string block_type = text_of(block.if_contains("type"));
      if (block_type == "text") {
        writer_.content(text_of(block.if_contains("text")), out);
      } else if (block_type == "thinking") {
        writer_.reasoning(text_of(block.if_contains("thinking")), out);
      } else if (block_type == "tool_use") {
        ToolBlock& tool = tools_[json_int(event.if_contains("index"))];
        tool.index = next_tool_++;
        std::string arguments;
        if (const auto* input = block.if_contains("input");
            input != nullptr && input->is_object() && !input->as_object().empty()) {
          arguments = json_text(*input);
        }
        tool.has_arguments = !arguments.empty();
        writer_.tool_call(tool.index, text_of(block.if_contains("id")),
                          text_of(block.if_contains("name")), arguments, out);
      }
    } else if (type == "content_block_delta") {
      const auto* d = event.if_contains("delta");
      if (d == nullptr || !d->is_object()) return {};
      const json::object& delta = d->as_object();
      const std::string delta_type = text_of(delta.if_contains("type"));
      if (delta_type == "text_delta") {
        writer_.content(text_of(delta.if_contains("text")), out);
      } else if (delta_type == "thinking_delta") {
        writer_.reasoning(text_of(delta.if_contains("thinking")), out);
      } else if (delta_type == "input_json_delta") {
        const auto it = tools_.find(json_int(event.if_contains("index")));
        if (it == tools_.end()) return {};
        const std::string fragment = text_of(delta.if_contains("partial_json"));
        if (!fragment.empty()) it->second.has_arguments = true;
        writer_.tool_arguments(it->second.index, fragment, out);
      }
    } else if (type == "content_block_stop") {
      const auto it = tools_.find(json_int(event.if_contains("index")));
      // A call without parameters may stream no JSON at all; clients parse the arguments.
      if (it != tools_.end() && !it->second.has_arguments) {
        it->second.has_arguments = true;
        writer_.tool_arguments(it->second.index, "{}", out);
      }
    } else if (type == "message_delta") {
      if (const auto* d = event.if_contains("delta"); d != nullptr && d->is_object()) {
        if (auto reason = text_of(d->as_object().if_contains("stop_reason")); !reason.empty()) {
          stop_reason_ = std::move(reason);
        }
      }
      if (const auto* u = event.if_contains("usage"); u != nullptr && u->is_object()) {
        tokens_.read(u->as_object());
      }
    } else if (type == "message_stop") {
      writer_.finish(finish_reason_of(stop_reason_), out);
      writer_.usage(tokens_.usage(), out);
      done_ = true;
    }
    // ping and event types added later carry nothing to relay.
    return {};
  }

 private:
  struct ToolBlock {
    int index = 0;  // among the answer's tool calls
    bool has_arguments = false;
  };

  std::string model_;
  ChunkWriter writer_;
  std::map<std::int64_t, ToolBlock> tools_;  // by content block index
  int next_tool_ = 0;
  std::string stop_reason_;
  TokenCounts tokens_;
};

// ---- provider ----

class AnthropicProvider final : public Provider {
 public:
  explicit AnthropicProvider(ProviderOptions options) : options_(std::move(options)) {}

  Result<UpstreamRequest> encode(const ChatRequest& request,
                                 const Credential& credential) const override {
    const std::string_view base =
        options_.base_url.empty() ? kAnthropicBaseUrl : std::string_view(options_.base_url);
    // A Messages API caller's own request needs no translation here: it goes on as it came.
    if (request.messages) {
      return passthrough_request(*request.messages, upstream_model(options_), base, credential,
                                 request.stream);
    }
    auto body = anthropic_body(request, options_);
    if (!body) return std::move(body).error();
    UpstreamRequest req;
    req.url = join_url(base, "/messages");
    req.headers.push_back({"x-api-key", credential.secret});
    req.headers.push_back({"anthropic-version", std::string(kAnthropicVersion)});
    req.headers.push_back({"Content-Type", "application/json"});
    req.body = json_text(*body);
    req.stream = request.stream;
    return req;
  }

  Result<ChatResponse> decode(const UpstreamResponse& response) const override {
    json::error_code ec;
    json::value parsed = json::parse(response.body, ec);
    if (ec || !parsed.is_object()) {
      return provider_error(kName,
                            "upstream anthropic answered with a body that is not a JSON object");
    }
    const json::object& message = parsed.as_object();
    if (message.contains("error") || text_of(message.if_contains("type")) == "error") {
      return classify_anthropic(response.status, response.headers, response.body);
    }
    const auto* content = message.if_contains("content");
    if (content == nullptr || !content->is_array()) {
      return provider_error(kName, "upstream anthropic answered without a 'content' array");
    }
    Answer answer;
    answer.id = text_of(message.if_contains("id"));
    answer.model = text_of(message.if_contains("model"));
    if (answer.model.empty()) answer.model = upstream_model(options_);
    for (const auto& b : content->as_array()) {
      if (!b.is_object()) continue;
      const json::object& block = b.as_object();
      const std::string type = text_of(block.if_contains("type"));
      if (type == "text") {
        answer.content += text_of(block.if_contains("text"));
      } else if (type == "thinking") {
        answer.reasoning += text_of(block.if_contains("thinking"));
      } else if (type == "tool_use") {
        const auto* input = block.if_contains("input");
        answer.tool_calls.push_back(
            ToolCall{text_of(block.if_contains("id")), text_of(block.if_contains("name")),
                     input != nullptr && input->is_object() ? json_text(*input) : "{}"});
      }
    }
    answer.finish_reason = finish_reason_of(text_of(message.if_contains("stop_reason")));
    TokenCounts tokens;
    if (const auto* u = message.if_contains("usage"); u != nullptr && u->is_object()) {
      tokens.read(u->as_object());
    }
    answer.usage = tokens.usage();
    return completion_of(std::move(answer));
  }

  std::unique_ptr<StreamDecoder> stream_decoder() const override {
    return std::make_unique<AnthropicStreamDecoder>(upstream_model(options_));
  }

  Result<ChatResponse> decode_for(const ChatRequest& request,
                                  const UpstreamResponse& response) const override {
    if (request.messages) return passthrough_answer(request, response);
    return decode(response);
  }

  std::unique_ptr<StreamDecoder> stream_decoder_for(const ChatRequest& request) const override {
    if (request.messages) return passthrough_decoder(request.model);
    return stream_decoder();
  }

  bool speaks_messages_api() const override { return true; }

  Error classify(int status, const Headers& headers, std::string_view body) const override {
    return classify_anthropic(status, headers, body);
  }

 private:
  ProviderOptions options_;
};

}  // namespace

std::unique_ptr<Provider> make_anthropic(ProviderOptions options) {
  return std::make_unique<AnthropicProvider>(std::move(options));
}

}  // namespace bc::providers
