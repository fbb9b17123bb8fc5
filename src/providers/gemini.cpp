// The Google Gemini adapter (see gemini.h): the request, the answer and the stream in
// Gemini's format; its error answers are read in gemini_errors.cpp.
#include "providers/gemini.h"

#include <algorithm>

#include <boost/json.hpp>

#include "core/json_text.h"
#include "providers/embeddings.h"
#include "providers/gemini_errors.h"
#include "providers/native.h"
#include "providers/openai.h"
#include "providers/upstream_error.h"

namespace bc::providers {

namespace json = boost::json;

namespace {

constexpr std::string_view kName = "gemini";
constexpr std::string_view kSignatureMark = "__thought__";
constexpr std::size_t kMaxStopSequences = 5;

// ---- request ----

std::string guess_media_type(std::string_view url) {
  std::string_view path = url.substr(0, url.find_first_of("?#"));
  const auto dot = path.rfind('.');
  const std::string_view ext = dot == std::string_view::npos ? "" : path.substr(dot + 1);
  if (ext == "png") return "image/png";
  if (ext == "webp") return "image/webp";
  if (ext == "gif") return "image/gif";
  if (ext == "pdf") return "application/pdf";
  return "image/jpeg";
}

struct CallId {
  std::string_view base;
  std::string_view signature;
};

CallId split_id(std::string_view id) {
  const auto at = id.find(kSignatureMark);
  if (at == std::string_view::npos) return {id, {}};
  return {id.substr(0, at), id.substr(at + kSignatureMark.size())};
}

// Ids made up by the gateway start with "call_" and mean nothing upstream.
bool is_upstream_id(std::string_view base) {
  return !base.empty() && !base.starts_with("call_");
}

// Keywords of JSON Schema that Gemini's OpenAPI-style `parameters` rejects.
void strip_schema(json::value& schema) {
  if (schema.is_object()) {
    auto& o = schema.as_object();
    o.erase("$schema");
    o.erase("additionalProperties");
    for (auto& [key, value] : o) strip_schema(value);
  } else if (schema.is_array()) {
    for (auto& v : schema.as_array()) strip_schema(v);
  }
}

void append_turn(json::array& contents, std::string_view role, json::array parts) {
  if (parts.empty()) return;  // the API rejects a turn without parts
  if (!contents.empty() && contents.back().as_object().at("role").as_string() == role) {
    auto& existing = contents.back().as_object().at("parts").as_array();
    for (auto& p : parts) existing.push_back(std::move(p));
    return;
  }
  contents.push_back(json::object{{"role", role}, {"parts", std::move(parts)}});
}

json::array user_parts(const json::value* content) {
  json::array parts;
  for (auto& part : content_parts(content)) {
    if (part.kind == ContentPart::Kind::kText) {
      if (!part.text.empty()) parts.push_back(json::object{{"text", std::move(part.text)}});
    } else if (!part.data.empty()) {
      parts.push_back(json::object{
          {"inlineData", json::object{{"mimeType", part.media_type}, {"data", part.data}}}});
    } else {
      parts.push_back(
          json::object{{"fileData", json::object{{"mimeType", guess_media_type(part.url)},
                                                 {"fileUri", part.url}}}});
    }
  }
  return parts;
}

Result<json::array> model_parts(const json::object& message) {
  json::array parts;
  std::string text = message_text(message.if_contains("content"));
  if (!text.empty()) parts.push_back(json::object{{"text", std::move(text)}});
  const auto* calls = message.if_contains("tool_calls");
  if (calls == nullptr || !calls->is_array()) return parts;
  for (const auto& c : calls->as_array()) {
    if (!c.is_object()) continue;
    const auto* fn = c.as_object().if_contains("function");
    if (fn == nullptr || !fn->is_object()) continue;
    const std::string name = text_of(fn->as_object().if_contains("name"));
    auto args = tool_arguments(fn->as_object().if_contains("arguments"), name);
    if (!args) return std::move(args).error();
    const std::string id = text_of(c.as_object().if_contains("id"));
    const CallId split = split_id(id);
    json::object call{{"name", name}, {"args", std::move(args).value()}};
    if (is_upstream_id(split.base)) call["id"] = split.base;
    json::object part{{"functionCall", std::move(call)}};
    if (!split.signature.empty()) part["thoughtSignature"] = split.signature;
    parts.push_back(std::move(part));
  }
  return parts;
}

json::object function_response(const json::array& messages, std::size_t i) {
  const json::object& m = messages[i].as_object();
  const std::string id = text_of(m.if_contains("tool_call_id"));
  std::string name = tool_name_for(messages, i, id);
  if (name.empty()) name = text_of(m.if_contains("name"));
  // `response` must be an object: a JSON object result is sent as is, anything else wrapped.
  const std::string content = message_text(m.if_contains("content"));
  json::error_code ec;
  json::value parsed = json::parse(content, ec);
  json::object response =
      !ec && parsed.is_object() ? std::move(parsed.as_object()) : json::object{{"result", content}};
  json::object fr{{"name", name}, {"response", std::move(response)}};
  if (const CallId split = split_id(id); is_upstream_id(split.base)) fr["id"] = split.base;
  return json::object{{"functionResponse", std::move(fr)}};
}

Result<json::object> gemini_body(const ChatRequest& request, const ProviderOptions& options) {
  const json::object& in = request.body();
  json::array contents;
  TurnWriters write;
  write.user = [&](const json::object& m) {
    append_turn(contents, "user", user_parts(m.if_contains("content")));
  };
  write.assistant = [&](const json::object& m) -> Status {
    auto parts = model_parts(m);
    if (!parts) return std::move(parts).error();
    append_turn(contents, "model", std::move(parts).value());
    return {};
  };
  write.tool = [&](const json::array& list, std::size_t i) {
    append_turn(contents, "user", json::array{function_response(list, i)});
  };
  auto walked = walk_messages(in, kName, write);
  if (!walked) return std::move(walked).error();
  const std::string system = std::move(walked).value();

  json::object body;
  body["contents"] = std::move(contents);
  if (!system.empty()) {
    body["systemInstruction"] =
        json::object{{"parts", json::array{json::object{{"text", system}}}}};
  }

  json::object config;
  if (const auto t = sampling_temperature(in, options)) config["temperature"] = *t;
  if (const auto* v = in.if_contains("top_p"); v != nullptr && v->is_number()) config["topP"] = *v;
  if (const auto* v = in.if_contains("top_k"); v != nullptr && v->is_number()) config["topK"] = *v;
  if (const auto n = max_output_tokens(in)) config["maxOutputTokens"] = *n;
  if (auto stop = stop_sequences(in); !stop.empty()) {
    json::array seqs;
    for (std::size_t i = 0; i < stop.size() && i < kMaxStopSequences; ++i)
      seqs.emplace_back(stop[i]);
    config["stopSequences"] = std::move(seqs);
  }
  if (const auto* v = in.if_contains("presence_penalty"); v != nullptr && v->is_number()) {
    config["presencePenalty"] = *v;
  }
  if (const auto* v = in.if_contains("frequency_penalty"); v != nullptr && v->is_number()) {
    config["frequencyPenalty"] = *v;
  }
  if (const auto* v = in.if_contains("seed"); v != nullptr && v->is_number()) config["seed"] = *v;
  if (const auto* rf = in.if_contains("response_format"); rf != nullptr && rf->is_object()) {
    const std::string type = text_of(rf->as_object().if_contains("type"));
    if (type == "json_object" || type == "json_schema") {
      config["responseMimeType"] = "application/json";
    }
  }
  if (!config.empty()) body["generationConfig"] = std::move(config);

  const auto tools = options.supports_tools ? function_tools(in) : std::vector<FunctionTool>{};
  if (!tools.empty()) {
    json::array declarations;
    for (const auto& t : tools) {
      json::object d{{"name", t.name}};
      if (!t.description.empty()) d["description"] = t.description;
      if (t.parameters.is_object()) {
        json::value schema = t.parameters;
        strip_schema(schema);
        d["parameters"] = std::move(schema);
      }
      declarations.push_back(std::move(d));
    }
    body["tools"] = json::array{json::object{{"functionDeclarations", std::move(declarations)}}};
    const ToolChoice choice = tool_choice(in);
    json::object fc;
    switch (choice.mode) {
      case ToolChoice::Mode::kUnset:
        break;
      case ToolChoice::Mode::kAuto:
        fc["mode"] = "AUTO";
        break;
      case ToolChoice::Mode::kNone:
        fc["mode"] = "NONE";
        break;
      case ToolChoice::Mode::kRequired:
        fc["mode"] = "ANY";
        break;
      case ToolChoice::Mode::kNamed:
        fc["mode"] = "ANY";
        fc["allowedFunctionNames"] = json::array{json::value(choice.name)};
        break;
    }
    if (!fc.empty()) body["toolConfig"] = json::object{{"functionCallingConfig", std::move(fc)}};
  }
  return body;
}

// ---- answers ----

Usage usage_of(const json::object& meta) {
  const std::int64_t prompt = json_int(meta.if_contains("promptTokenCount"));
  const std::int64_t completion = json_int(meta.if_contains("candidatesTokenCount")) +
                                  json_int(meta.if_contains("thoughtsTokenCount"));
  const auto* total = meta.if_contains("totalTokenCount");
  return make_usage(
      prompt, completion,
      total != nullptr && total->is_number() ? std::optional(json_int(total)) : std::nullopt);
}

// The OpenAI finish reason of a candidate; an error for MALFORMED_FUNCTION_CALL.
Result<std::string> finish_reason_of(std::string_view reason, bool tool_calls) {
  static constexpr std::string_view kFiltered[] = {
      "SAFETY", "RECITATION", "BLOCKLIST", "PROHIBITED_CONTENT", "SPII", "IMAGE_SAFETY", "LANGUAGE",
  };
  if (reason == "MALFORMED_FUNCTION_CALL") {
    return provider_error(kName,
                          "upstream gemini stopped with finishReason MALFORMED_FUNCTION_CALL");
  }
  if (reason == "MAX_TOKENS") return std::string("length");
  if (std::find(std::begin(kFiltered), std::end(kFiltered), reason) != std::end(kFiltered)) {
    return std::string("content_filter");
  }
  return std::string(tool_calls ? "tool_calls" : "stop");
}

// The OpenAI id of the `n`-th function call of an answer (see gemini.h).
std::string call_id(const json::object& part, const json::object& call,
                    std::string_view response_id, int n) {
  std::string id = text_of(call.if_contains("id"));
  if (id.empty()) {
    id = "call_";
    if (!response_id.empty()) id.append(response_id).append("_");
    id += std::to_string(n);
  }
  if (const std::string sig = text_of(part.if_contains("thoughtSignature")); !sig.empty()) {
    id.append(kSignatureMark).append(sig);
  }
  return id;
}

std::string arguments_of(const json::object& call) {
  const auto* args = call.if_contains("args");
  return args != nullptr && args->is_object() ? json_text(*args) : "{}";
}

const json::object* first_candidate(const json::object& response) {
  const auto* candidates = response.if_contains("candidates");
  if (candidates == nullptr || !candidates->is_array() || candidates->as_array().empty()) {
    return nullptr;
  }
  const auto& first = candidates->as_array().front();
  return first.is_object() ? &first.as_object() : nullptr;
}

const json::array* parts_of(const json::object& candidate) {
  const json::object* content = object_at(candidate, "content");
  if (content == nullptr) return nullptr;
  const auto* parts = content->if_contains("parts");
  return parts != nullptr && parts->is_array() ? &parts->as_array() : nullptr;
}

bool prompt_blocked(const json::object& response) {
  const json::object* feedback = object_at(response, "promptFeedback");
  return feedback != nullptr && !text_of(feedback->if_contains("blockReason")).empty();
}

// ---- stream ----

class GeminiStreamDecoder final : public FramedStreamDecoder {
 public:
  explicit GeminiStreamDecoder(std::string model)
      : FramedStreamDecoder(kName, Framing::kSse), model_(std::move(model)) {}

 protected:
  std::string_view end_marker() const override { return "a chunk with a finishReason"; }

  Status frame(SseEvent& ev, std::vector<ChatDelta>& out) override {
    if (ev.data.find_first_not_of(" \t\r\n") == std::string::npos) return {};
    auto parsed = parse_object(ev.data);
    if (!parsed) return std::move(parsed).error();
    const json::object& response = *parsed;
    if (response.contains("error")) return classify_gemini(200, {}, ev.data);
    if (!writer_.has_identity()) {
      response_id_ = text_of(response.if_contains("responseId"));
      std::string model = text_of(response.if_contains("modelVersion"));
      writer_.set_identity(response_id_.empty() ? "chatcmpl-gemini" : response_id_,
                           model.empty() ? model_ : model, 0);
    }
    if (const json::object* meta = object_at(response, "usageMetadata")) usage_ = usage_of(*meta);

    const json::object* candidate = first_candidate(response);
    if (candidate == nullptr) {
      if (prompt_blocked(response) && !finished_) {
        finished_ = true;
        writer_.finish("content_filter", out);
      }
      return {};
    }
    if (const json::array* parts = parts_of(*candidate)) {
      for (const auto& p : *parts) {
        if (!p.is_object()) continue;
        const json::object& part = p.as_object();
        if (const json::object* call = object_at(part, "functionCall")) {
          const int n = tools_++;
          writer_.tool_call(n, call_id(part, *call, response_id_, n),
                            text_of(call->if_contains("name")), arguments_of(*call), out);
        } else if (const auto* thought = part.if_contains("thought");
                   thought != nullptr && thought->is_bool() && thought->as_bool()) {
          writer_.reasoning(text_of(part.if_contains("text")), out);
        } else {
          writer_.content(text_of(part.if_contains("text")), out);
        }
      }
    }
    const std::string reason = text_of(candidate->if_contains("finishReason"));
    if (!reason.empty() && !finished_) {
      auto mapped = finish_reason_of(reason, tools_ > 0);
      if (!mapped) return std::move(mapped).error();
      finished_ = true;
      writer_.finish(*mapped, out);
    }
    return {};
  }

  // Gemini ends a stream by closing the connection: complete once a finishReason was seen.
  Status end(std::vector<ChatDelta>& out) override {
    if (!finished_) return FramedStreamDecoder::end(out);
    if (usage_) writer_.usage(*usage_, out);
    done_ = true;
    return {};
  }

 private:
  std::string model_;
  std::string response_id_;
  ChunkWriter writer_;
  int tools_ = 0;
  bool finished_ = false;
  std::optional<Usage> usage_;
};

// ---- provider ----

class GeminiProvider final : public Provider {
 public:
  explicit GeminiProvider(ProviderOptions options) : options_(std::move(options)) {}

  Result<UpstreamRequest> encode(const ChatRequest& request,
                                 const Credential& credential) const override {
    auto body = gemini_body(request, options_);
    if (!body) return std::move(body).error();
    std::string model = upstream_model(options_);
    if (model.starts_with("models/")) model.erase(0, 7);
    const std::string_view base =
        options_.base_url.empty() ? kGeminiBaseUrl : std::string_view(options_.base_url);
    UpstreamRequest req;
    req.url = join_url(
        base, "/models/" + model +
                  (request.stream ? ":streamGenerateContent?alt=sse" : ":generateContent"));
    req.headers.push_back({"x-goog-api-key", credential.secret});
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
                            "upstream gemini answered with a body that is not a JSON object");
    }
    const json::object& body = parsed.as_object();
    if (body.contains("error")) {
      return classify_gemini(response.status, response.headers, response.body);
    }
    Answer answer;
    const std::string response_id = text_of(body.if_contains("responseId"));
    answer.id = response_id.empty() ? "chatcmpl-gemini" : response_id;
    answer.model = text_of(body.if_contains("modelVersion"));
    if (answer.model.empty()) answer.model = upstream_model(options_);
    if (const json::object* meta = object_at(body, "usageMetadata")) {
      answer.usage = usage_of(*meta);
    }
    const json::object* candidate = first_candidate(body);
    if (candidate == nullptr) {
      if (!prompt_blocked(body)) {
        return provider_error(kName, "upstream gemini answered without candidates");
      }
      answer.finish_reason = "content_filter";
      return completion_of(std::move(answer));
    }
    if (const json::array* parts = parts_of(*candidate)) {
      for (const auto& p : *parts) {
        if (!p.is_object()) continue;
        const json::object& part = p.as_object();
        if (const json::object* call = object_at(part, "functionCall")) {
          const int n = static_cast<int>(answer.tool_calls.size());
          answer.tool_calls.push_back(ToolCall{call_id(part, *call, response_id, n),
                                               text_of(call->if_contains("name")),
                                               arguments_of(*call)});
        } else if (const auto* thought = part.if_contains("thought");
                   thought != nullptr && thought->is_bool() && thought->as_bool()) {
          answer.reasoning += text_of(part.if_contains("text"));
        } else {
          answer.content += text_of(part.if_contains("text"));
        }
      }
    }
    auto reason = finish_reason_of(text_of(candidate->if_contains("finishReason")),
                                   !answer.tool_calls.empty());
    if (!reason) return std::move(reason).error();
    answer.finish_reason = std::move(reason).value();
    return completion_of(std::move(answer));
  }

  std::unique_ptr<StreamDecoder> stream_decoder() const override {
    return std::make_unique<GeminiStreamDecoder>(upstream_model(options_));
  }

  Error classify(int status, const Headers& headers, std::string_view body) const override {
    return classify_gemini(status, headers, body);
  }

  bool embeds() const override { return true; }
  Result<UpstreamRequest> encode_embeddings(const EmbeddingRequest& request,
                                            const Credential& credential) const override {
    const std::string_view base =
        options_.base_url.empty() ? kGeminiBaseUrl : std::string_view(options_.base_url);
    return gemini_embeddings_request(base, upstream_model(options_), request, credential);
  }
  Result<EmbeddingResponse> decode_embeddings(const UpstreamResponse& response) const override {
    return decode_gemini_embeddings(response, &classify_gemini);
  }

 private:
  ProviderOptions options_;
};

}  // namespace

std::unique_ptr<Provider> make_gemini(ProviderOptions options) {
  return std::make_unique<GeminiProvider>(std::move(options));
}

}  // namespace bc::providers
