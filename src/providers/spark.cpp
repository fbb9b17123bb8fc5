#include "providers/spark.h"

#include <algorithm>
#include <cctype>

#include <boost/json.hpp>

#include "core/json_text.h"
#include "providers/adapter_util.h"
#include "providers/native.h"
#include "providers/openai.h"
#include "providers/openai_shape.h"
#include "providers/upstream_error.h"

namespace bc::providers {

namespace json = boost::json;
using std::chrono::milliseconds;
using std::chrono::seconds;

namespace {

constexpr std::int64_t kOutputReviewFailed = 10014;

// Spark's error codes (`code` in the body). nullopt: not a code we know, classify by HTTP status.
std::optional<CodeClass> spark_code_class(std::int64_t code, const Headers& headers) {
  using namespace code_table;
  switch (code) {
    case 10003:
    case 10004:
    case 10005:
    case 10163:
      return CodeClass{kBad, "invalid_request", false, kNone};
    case 10006:
      return CodeClass{kRate, "concurrency_limit_exceeded", true, kCool, seconds(1)};
    case 10007:
      return CodeClass{kRate, "concurrency_limit_exceeded", true, kCool, seconds(2)};
    case 10008:
      return CodeClass{kUp, "upstream_overloaded", true, kNone};
    case 10009:
    case 10010:
    case 10011:
    case 10012:
    case 10222:
    case 10110:
      return CodeClass{kUp, "upstream_error", true, kNone};
    case 10013:
    case 10014:
    case 10019:
    case 10021:
      return CodeClass{kBad, "content_filter", false, kNone};
    case 10015:
      return CodeClass{kPerm, "permission_denied", true, kOff};
    case 10016:
      return CodeClass{kPerm, "permission_denied", true, kOff, kBillingReprobe};
    case 10907:
      return CodeClass{kBad, "context_length_exceeded", false, kNone};
    case 11200:
      return CodeClass{kRate, "insufficient_quota", true, kOff, kBillingReprobe};
    case 11201:
      return CodeClass{kRate, "daily_quota_exceeded", true, kCool,
                       until_shanghai_midnight(headers)};
    case 11202:
      return CodeClass{kRate, "rate_limit_exceeded", true, kCool, seconds(1)};
    case 11203:
      return CodeClass{kRate, "concurrency_limit_exceeded", true, kCool, seconds(2)};
    default:
      return std::nullopt;
  }
}

// Spark's top-level `code` when it is a non-zero number (or numeric text); else nullopt.
std::optional<std::int64_t> spark_code(const json::object& body) {
  const auto* code = body.if_contains("code");
  if (code == nullptr) return std::nullopt;
  std::optional<std::int64_t> value;
  if (code->is_int64()) value = code->as_int64();
  if (code->is_uint64()) value = static_cast<std::int64_t>(code->as_uint64());
  if (code->is_string()) value = parse_code(code->as_string());
  if (!value || *value == 0) return std::nullopt;
  return value;
}

Error classify_spark(int status, const Headers& headers, std::string_view body) {
  json::error_code ec;
  const json::value parsed = json::parse(body, ec);
  if (!ec && parsed.is_object()) {
    const json::object& obj = parsed.as_object();
    if (const auto code = spark_code(obj)) {
      const auto* message = obj.if_contains("message");
      const std::string text = message != nullptr && message->is_string()
                                   ? scrub_message(message->as_string())
                                   : std::string();
      if (const auto cls = spark_code_class(*code, headers)) {
        return business_error("spark", status, std::to_string(*code), text, *cls);
      }
    }
  }
  // Another Spark code, or the HTTP layer's own answer (401 for a wrong APIPassword).
  return classify_http("spark", status, headers, body);
}

Dialect spark_dialect() {
  return Dialect{"spark", &classify_spark};
}

bool takes_system_message(std::string_view model) {
  // Only Spark Max and 4.0 Ultra accept the system role.
  std::string m(model);
  for (auto& c : m) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return m == "generalv3.5" || m == "max-32k" || m == "4.0ultra";
}

// Moves every system/developer message into the first user message, in front of its text.
void inline_system_messages(json::object& body) {
  auto* messages = body.if_contains("messages");
  if (messages == nullptr || !messages->is_array()) return;
  std::string system;
  json::array kept;
  for (auto& m : messages->as_array()) {
    const auto* role = m.is_object() ? m.as_object().if_contains("role") : nullptr;
    if (role != nullptr && role->is_string() &&
        (role->as_string() == "system" || role->as_string() == "developer")) {
      const auto* content = m.as_object().if_contains("content");
      const std::string text = content != nullptr ? content_text(*content) : std::string();
      if (text.empty()) continue;
      if (!system.empty()) system += "\n\n";
      system += text;
      continue;
    }
    kept.push_back(std::move(m));
  }
  if (system.empty()) {
    *messages = std::move(kept);
    return;
  }
  for (auto& m : kept) {
    auto& msg = m.as_object();
    const auto* role = msg.if_contains("role");
    if (role == nullptr || !role->is_string() || role->as_string() != "user") continue;
    auto* content = msg.if_contains("content");
    if (content != nullptr && content->is_array()) {
      content->as_array().insert(content->as_array().begin(),
                                 json::object{{"type", "text"}, {"text", system + "\n\n"}});
    } else {
      const std::string text = content != nullptr ? content_text(*content) : std::string();
      msg["content"] = text.empty() ? system : system + "\n\n" + text;
    }
    *messages = std::move(kept);
    return;
  }
  // No user message at all: the system text becomes one.
  kept.insert(kept.begin(), json::object{{"role", "user"}, {"content", system}});
  *messages = std::move(kept);
}

std::string_view finish_for(bool tool_call) {
  return tool_call ? "tool_calls" : "stop";
}

// Spark's chunks made OpenAI chunks: its own members dropped, `model` and a null
// `finish_reason` added, the finish reason set on the chunk that carries usage (the last
// content chunk) since Spark sends none.
class SparkChunkDecoder final : public OpenAiStreamDecoder {
 public:
  explicit SparkChunkDecoder(std::string model)
      : OpenAiStreamDecoder(spark_dialect()), model_(std::move(model)) {}

  // The chunk that ends the answer when no chunk carried a finish reason.
  std::optional<ChatDelta> closing_chunk() const {
    if (finished_) return std::nullopt;
    json::object chunk{
        {"id", id_},
        {"object", "chat.completion.chunk"},
        {"created", created_},
        {"model", model_},
        {"choices",
         json::array{json::object{
             {"index", 0}, {"delta", json::object()}, {"finish_reason", finish_for(tool_call_)}}}}};
    ChatDelta d;
    d.chunk_json = json_text(chunk);
    d.finish_reason = std::string(finish_for(tool_call_));
    return d;
  }

  // An output review failure (10014) ends the answer as content_filter.
  ChatDelta filtered_chunk() {
    finished_ = true;
    json::object chunk{{"id", id_},
                       {"object", "chat.completion.chunk"},
                       {"created", created_},
                       {"model", model_},
                       {"choices", json::array{json::object{{"index", 0},
                                                            {"delta", json::object()},
                                                            {"finish_reason", "content_filter"}}}}};
    ChatDelta d;
    d.chunk_json = json_text(chunk);
    d.finish_reason = "content_filter";
    return d;
  }

 protected:
  bool adjusts_chunks() const override { return true; }
  Status adjust(json::object& chunk, bool& changed) override {
    for (std::string_view key : {"code", "message", "sid"}) {
      if (chunk.erase(key) > 0) changed = true;
    }
    if (const auto* id = chunk.if_contains("id"); id != nullptr && id->is_string()) {
      id_ = std::string(id->as_string());
    }
    if (const auto* created = chunk.if_contains("created");
        created != nullptr && created->is_int64()) {
      created_ = created->as_int64();
    }
    if (!chunk.contains("model")) {
      chunk["model"] = model_;
      changed = true;
    }
    const bool has_usage = chunk.contains("usage");
    for (auto& choice : chunk.at("choices").as_array()) {
      if (!choice.is_object()) continue;
      auto& c = choice.as_object();
      if (const auto* d = c.if_contains("delta"); d != nullptr && d->is_object()) {
        if (const auto* calls = d->as_object().if_contains("tool_calls");
            calls != nullptr && calls->is_array() && !calls->as_array().empty()) {
          tool_call_ = true;
        }
      }
      auto* fr = c.if_contains("finish_reason");
      if (fr != nullptr && fr->is_string()) {
        finished_ = true;
      } else if (has_usage && !finished_) {
        c["finish_reason"] = finish_for(tool_call_);
        finished_ = true;
        changed = true;
      } else if (fr == nullptr) {
        c["finish_reason"] = nullptr;
        changed = true;
      }
    }
    return {};
  }

 private:
  std::string model_;
  std::string id_;
  std::int64_t created_ = 0;
  bool tool_call_ = false;
  bool finished_ = false;
};

class SparkStreamDecoder final : public SseFilterDecoder {
 public:
  static std::unique_ptr<StreamDecoder> make(std::string model) {
    auto chunks = std::make_unique<SparkChunkDecoder>(std::move(model));
    auto* raw = chunks.get();
    return std::unique_ptr<StreamDecoder>(new SparkStreamDecoder(std::move(chunks), raw));
  }

 protected:
  Result<bool> event(const SseEvent& ev, std::vector<ChatDelta>& out) override {
    if (!ev.name.empty()) return true;
    json::error_code ec;
    const json::value parsed = json::parse(ev.data, ec);
    if (ec || !parsed.is_object()) return true;  // [DONE], or malformed: the inner decides
    const auto code = spark_code(parsed.as_object());
    if (!code) return true;
    if (*code == kOutputReviewFailed) {
      out.push_back(chunks_->filtered_chunk());
      end();
      return false;
    }
    return classify_spark(200, {}, ev.data);
  }

  Error json_body(std::string_view body) override { return classify_spark(200, {}, body); }

  void inner_done(std::vector<ChatDelta>& out) override {
    if (auto last = chunks_->closing_chunk()) out.push_back(std::move(*last));
  }

 private:
  SparkStreamDecoder(std::unique_ptr<StreamDecoder> inner, SparkChunkDecoder* chunks)
      : SseFilterDecoder("spark", std::move(inner)), chunks_(chunks) {}

  SparkChunkDecoder* chunks_;  // owned by the base as its inner decoder
};

class SparkProvider final : public OpenAiProvider {
 public:
  explicit SparkProvider(ProviderOptions options)
      : OpenAiProvider(std::move(options), spark_dialect()) {}

  // No embeddings endpoint the gateway speaks: refused at config load (Gateway::create).
  bool embeds() const override { return false; }

  Result<UpstreamRequest> encode(const ChatRequest& request,
                                 const Credential& credential) const override {
    if (const auto* n = request.body().if_contains("n");
        n != nullptr && n->is_number() && n->to_number<double>() > 1) {
      return Error::invalid_param("n", "spark models return a single choice; 'n' must be 1",
                                  "unsupported_parameter");
    }
    json::object body = openai_body(request, options_);
    // Not in Spark's parameter list; usage comes on the last chunk without asking.
    for (std::string_view key : {"n", "stream_options", "logprobs", "top_logprobs", "logit_bias",
                                 "seed", "parallel_tool_calls", "service_tier", "store", "metadata",
                                 "modalities", "audio", "prediction", "reasoning_effort"}) {
      body.erase(key);
    }
    if (const auto* mct = body.if_contains("max_completion_tokens")) {
      json::value v = *mct;
      body.erase("max_completion_tokens");
      if (!body.contains("max_tokens")) body["max_tokens"] = std::move(v);
    }
    // Temperature must lie in (0, 2].
    if (auto* t = body.if_contains("temperature"); t != nullptr && t->is_number()) {
      const double x = t->to_number<double>();
      if (x <= 0) *t = 0.01;
      if (x > 2) *t = 2.0;
    }
    if (!takes_system_message(body.at("model").as_string())) inline_system_messages(body);
    const std::string_view base = options_.base_url.empty() ? kSparkBaseUrl : options_.base_url;
    return openai_request(join_url(base, "/chat/completions"), body, credential, request.stream);
  }

  Result<ChatResponse> decode(const UpstreamResponse& response) const override {
    auto parsed = parse_answer(response, dialect_);
    if (!parsed) return std::move(parsed).error();
    json::object completion = std::move(parsed).value();
    if (spark_code(completion))
      return classify_spark(response.status, response.headers, response.body);
    // Spark's envelope in OpenAI's words; `created` is unknown (0).
    if (!completion.contains("id")) {
      // Copy first: inserting "id" may rehash the object and free what `sid` points to.
      if (const auto* sid = completion.if_contains("sid")) {
        json::value id = *sid;
        completion["id"] = std::move(id);
      }
    }
    for (std::string_view key : {"code", "message", "sid"}) completion.erase(key);
    if (!completion.contains("object")) completion["object"] = "chat.completion";
    if (!completion.contains("created")) completion["created"] = 0;
    if (!completion.contains("model")) completion["model"] = model_id();
    if (auto* choices = completion.if_contains("choices");
        choices != nullptr && choices->is_array()) {
      for (auto& choice : choices->as_array()) {
        if (!choice.is_object()) continue;
        auto& c = choice.as_object();
        const auto* fr = c.if_contains("finish_reason");
        if (fr != nullptr && fr->is_string()) continue;
        bool tool_call = false;
        if (const auto* m = c.if_contains("message"); m != nullptr && m->is_object()) {
          const auto* calls = m->as_object().if_contains("tool_calls");
          tool_call = calls != nullptr && calls->is_array() && !calls->as_array().empty();
        }
        c["finish_reason"] = finish_for(tool_call);
      }
    }
    complete_openai_choices(completion);
    return completion_response(std::move(completion), dialect_);
  }

  std::unique_ptr<StreamDecoder> stream_decoder() const override {
    return SparkStreamDecoder::make(model_id());
  }

 private:
  std::string model_id() const {
    return options_.upstream_model.empty() ? options_.model_name : options_.upstream_model;
  }
};

}  // namespace

std::unique_ptr<Provider> make_spark(ProviderOptions options) {
  return std::make_unique<SparkProvider>(std::move(options));
}

}  // namespace bc::providers
