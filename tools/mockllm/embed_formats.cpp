#include "mockllm/embed_formats.h"

#include <algorithm>
#include <array>

#include <boost/json.hpp>

#include "core/embedding.h"
#include "core/json_text.h"
#include "mockllm/formats.h"
#include "mockllm/gemini_format.h"
#include "mockllm/ollama_format.h"
#include "mockllm/openai_format.h"
#include "mockllm/zhipu_format.h"

namespace bc::mockllm {
namespace {

namespace json = boost::json;

Result<json::object> body_object(std::string_view body) {
  json::error_code ec;
  json::value v = json::parse(body, ec);
  if (ec || !v.is_object()) return Error::invalid_request("the body is not a JSON object");
  return std::move(v.as_object());
}

// `input` a string or a non-empty array of strings; `dimensions` (`outputDimensionality`).
Status read_inputs(const json::object& o, std::string_view dims_key, EmbedCall& call) {
  const auto* input = o.if_contains("input");
  if (input != nullptr && input->is_string()) {
    call.inputs.emplace_back(input->as_string());
    call.single = true;
  } else if (input != nullptr && input->is_array() && !input->as_array().empty()) {
    for (const auto& item : input->as_array()) {
      if (!item.is_string()) return Error::invalid_request("'input' items must be strings");
      call.inputs.emplace_back(item.as_string());
    }
  } else {
    return Error::invalid_request("'input' must be a string or a non-empty array of strings");
  }
  if (const auto* d = o.if_contains(dims_key); d != nullptr && d->is_int64()) {
    call.dimensions = static_cast<int>(std::clamp<std::int64_t>(d->as_int64(), 1, 65536));
  }
  return Status{};
}

json::array floats(const std::vector<float>& v) {
  json::array out;
  for (const float f : v) out.emplace_back(static_cast<double>(f));
  return out;
}

std::int64_t tokens_of(const EmbedCall& call) {
  std::int64_t n = 0;
  for (const auto& text : call.inputs) n += mock_embedding_tokens(text);
  return n;
}

// OpenAI's shape; Zhipu's is the same (its usage also has completion_tokens: 0).
class OpenAiEmbed final : public EmbedFormat {
 public:
  OpenAiEmbed(const WireFormat& wire, bool completion_tokens)
      : wire_(wire), completion_tokens_(completion_tokens) {}
  const WireFormat& wire() const override { return wire_; }
  Result<EmbedCall> parse(const IncomingRequest& request) const override {
    auto o = body_object(request.body);
    if (!o) return std::move(o).error();
    EmbedCall call;
    const auto* model = o->if_contains("model");
    if (model == nullptr || !model->is_string()) return Error::invalid_request("'model' missing");
    call.model = std::string(model->as_string());
    if (Status st = read_inputs(*o, "dimensions", call); !st) return st.error();
    return call;
  }
  std::string answer(const EmbedCall& call) const override {
    json::array data;
    for (std::size_t i = 0; i < call.inputs.size(); ++i) {
      data.push_back(
          json::object{{"object", "embedding"},
                       {"index", i},
                       {"embedding", floats(mock_embedding(call.inputs[i], call.dimensions))}});
    }
    const auto tokens = tokens_of(call);
    json::object usage{{"prompt_tokens", tokens}, {"total_tokens", tokens}};
    if (completion_tokens_) usage["completion_tokens"] = 0;
    return json_text(json::object{
        {"object", "list"}, {"data", std::move(data)}, {"model", call.model}, {"usage", usage}});
  }

 private:
  const WireFormat& wire_;
  bool completion_tokens_;
};

// Gemini: the model from the path, one `content` (embedContent) or `requests` (batch).
class GeminiEmbed final : public EmbedFormat {
 public:
  const WireFormat& wire() const override { return gemini_format(); }
  Result<EmbedCall> parse(const IncomingRequest& request) const override {
    auto o = body_object(request.body);
    if (!o) return std::move(o).error();
    EmbedCall call;
    std::string_view path = request.target.substr(0, request.target.find('?'));
    constexpr std::string_view kPrefix = "/v1beta/models/";
    path.remove_prefix(std::min(path.size(), kPrefix.size()));
    call.model = std::string(path.substr(0, path.find(':')));
    const auto add = [&call](const json::object& one) -> Status {
      const auto* content = one.if_contains("content");
      const auto* parts = content != nullptr && content->is_object()
                              ? content->as_object().if_contains("parts")
                              : nullptr;
      if (parts == nullptr || !parts->is_array() || parts->as_array().empty() ||
          !parts->as_array()[0].is_object()) {
        return Error::invalid_request("'content.parts' missing");
      }
      const auto* text = parts->as_array()[0].as_object().if_contains("text");
      if (text == nullptr || !text->is_string()) return Error::invalid_request("text missing");
      call.inputs.emplace_back(text->as_string());
      if (const auto* d = one.if_contains("outputDimensionality"); d != nullptr && d->is_int64()) {
        call.dimensions = static_cast<int>(std::clamp<std::int64_t>(d->as_int64(), 1, 65536));
      }
      return Status{};
    };
    if (const auto* requests = o->if_contains("requests")) {
      if (!requests->is_array() || requests->as_array().empty()) {
        return Error::invalid_request("'requests' must be a non-empty array");
      }
      for (const auto& r : requests->as_array()) {
        if (!r.is_object()) return Error::invalid_request("a request is not an object");
        if (Status st = add(r.as_object()); !st) return st.error();
      }
    } else {
      if (Status st = add(*o); !st) return st.error();
      call.single = true;
    }
    return call;
  }
  std::string answer(const EmbedCall& call) const override {
    if (call.single) {
      return json_text(json::object{
          {"embedding",
           json::object{{"values", floats(mock_embedding(call.inputs[0], call.dimensions))}}}});
    }
    json::array embeddings;
    for (const auto& text : call.inputs) {
      embeddings.push_back(json::object{{"values", floats(mock_embedding(text, call.dimensions))}});
    }
    return json_text(json::object{{"embeddings", std::move(embeddings)}});
  }
};

class OllamaEmbed final : public EmbedFormat {
 public:
  const WireFormat& wire() const override { return ollama_format(); }
  Result<EmbedCall> parse(const IncomingRequest& request) const override {
    auto o = body_object(request.body);
    if (!o) return std::move(o).error();
    EmbedCall call;
    const auto* model = o->if_contains("model");
    if (model == nullptr || !model->is_string()) return Error::invalid_request("'model' missing");
    call.model = std::string(model->as_string());
    if (Status st = read_inputs(*o, "dimensions", call); !st) return st.error();
    return call;
  }
  std::string answer(const EmbedCall& call) const override {
    json::array embeddings;
    for (const auto& text : call.inputs) {
      embeddings.push_back(floats(mock_embedding(text, call.dimensions)));
    }
    return json_text(json::object{{"model", call.model},
                                  {"embeddings", std::move(embeddings)},
                                  {"total_duration", 1000},
                                  {"load_duration", 10},
                                  {"prompt_eval_count", tokens_of(call)}});
  }
};

struct EmbedRoute {
  std::string_view path;
  const EmbedFormat* format;
};

}  // namespace

const EmbedFormat* find_embed_format(std::string_view path) {
  static const OpenAiEmbed openai(openai_format(), false);
  static const OpenAiEmbed zhipu(zhipu_format(), true);
  static const GeminiEmbed gemini;
  static const OllamaEmbed ollama;
  static const std::array<EmbedRoute, 5> routes = {{
      {"/v1/embeddings", &openai},
      {"/api/paas/v4/embeddings", &zhipu},
      {"/v1beta/models/*:embedContent", &gemini},
      {"/v1beta/models/*:batchEmbedContents", &gemini},
      {"/api/embed", &ollama},
  }};
  for (const auto& route : routes) {
    if (route_matches(route.path, path)) return route.format;
  }
  return nullptr;
}

}  // namespace bc::mockllm
