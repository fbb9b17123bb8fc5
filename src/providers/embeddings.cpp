#include "providers/embeddings.h"

#include <boost/json.hpp>

#include "core/json_text.h"
#include "providers/json_read.h"
#include "providers/native.h"

namespace bc::providers {

namespace json = boost::json;

namespace {

// A JSON array of numbers as floats; nullopt when it is not one.
std::optional<std::vector<float>> floats_of(const json::value* v) {
  if (v == nullptr || !v->is_array()) return std::nullopt;
  std::vector<float> out;
  out.reserve(v->as_array().size());
  for (const auto& x : v->as_array()) {
    if (!x.is_number()) return std::nullopt;
    out.push_back(static_cast<float>(x.to_number<double>()));
  }
  return out;
}

std::optional<std::int64_t> count_of(const json::value* v) {
  if (v == nullptr || !(v->is_int64() || v->is_uint64())) return std::nullopt;
  return v->to_number<std::int64_t>();
}

Usage prompt_usage(std::int64_t prompt, std::int64_t total) {
  Usage u;
  u.prompt_tokens = prompt;
  u.total_tokens = total;
  return u;
}

json::value input_value(const EmbeddingRequest& request) {
  if (request.single) return json::string(request.inputs.front());
  json::array items;
  for (const auto& text : request.inputs) items.emplace_back(json::string(text));
  return items;
}

Result<json::object> parse_object(const UpstreamResponse& response, std::string_view provider,
                                  ErrorClassifier classify) {
  json::error_code ec;
  json::value parsed = json::parse(response.body, ec);
  if (ec || !parsed.is_object()) {
    return provider_error(provider, "upstream " + std::string(provider) +
                                        " answered embeddings with a body that is not a JSON "
                                        "object");
  }
  if (parsed.as_object().contains("error")) {
    return classify(response.status, response.headers, response.body);
  }
  return std::move(parsed.as_object());
}

}  // namespace

std::string openai_embeddings_body(const EmbeddingRequest& request,
                                   std::string_view upstream_model) {
  json::object body;
  body["model"] = upstream_model;
  body["input"] = input_value(request);
  body["encoding_format"] = "float";
  if (request.dimensions) body["dimensions"] = *request.dimensions;
  return json_text(body);
}

Result<EmbeddingResponse> decode_openai_embeddings(const UpstreamResponse& response,
                                                   const Dialect& dialect) {
  auto parsed = parse_answer(response, dialect);
  if (!parsed) return std::move(parsed).error();
  const json::object& body = *parsed;
  const auto bad = [&dialect](std::string what) {
    return provider_error(dialect.provider, "upstream " + std::string(dialect.provider) +
                                                " answered embeddings " + what);
  };
  const auto* data = body.if_contains("data");
  if (data == nullptr || !data->is_array()) return bad("without a 'data' array");
  EmbeddingResponse out;
  const auto& items = data->as_array();
  out.vectors.resize(items.size());
  std::vector<bool> seen(items.size(), false);
  for (std::size_t i = 0; i < items.size(); ++i) {
    if (!items[i].is_object()) return bad("with an item that is not an object");
    const auto& item = items[i].as_object();
    std::size_t index = i;
    if (const auto n = count_of(item.if_contains("index"))) {
      if (*n < 0 || static_cast<std::size_t>(*n) >= items.size()) return bad("with a bad index");
      index = static_cast<std::size_t>(*n);
    }
    if (seen[index]) return bad("with a repeated index");
    seen[index] = true;
    const auto* e = item.if_contains("embedding");
    if (e != nullptr && e->is_string()) {
      auto floats = floats_from_base64(e->as_string());
      if (!floats) return bad("with an embedding that is not base64 of float32");
      out.vectors[index] = std::move(*floats);
    } else if (auto floats = floats_of(e)) {
      out.vectors[index] = std::move(*floats);
    } else {
      return bad("with an item without an 'embedding' array");
    }
  }
  if (const json::object* u = object_at(body, "usage")) {
    const auto prompt = count_of(u->if_contains("prompt_tokens"));
    const auto total = count_of(u->if_contains("total_tokens"));
    if (prompt || total)
      out.usage =
          prompt_usage(prompt.value_or(total.value_or(0)), total.value_or(prompt.value_or(0)));
  }
  return out;
}

UpstreamRequest gemini_embeddings_request(std::string_view base_url, std::string_view model,
                                          const EmbeddingRequest& request,
                                          const Credential& credential) {
  std::string name(model);
  if (name.starts_with("models/")) name.erase(0, 7);
  const auto content = [](const std::string& text) {
    json::object part;
    part["text"] = text;
    json::object c;
    c["parts"] = json::array{std::move(part)};
    return c;
  };
  json::object body;
  const bool single = request.inputs.size() == 1;
  if (single) {
    body["content"] = content(request.inputs.front());
    if (request.dimensions) body["outputDimensionality"] = *request.dimensions;
  } else {
    json::array requests;
    for (const auto& text : request.inputs) {
      json::object one;
      one["model"] = "models/" + name;
      one["content"] = content(text);
      if (request.dimensions) one["outputDimensionality"] = *request.dimensions;
      requests.push_back(std::move(one));
    }
    body["requests"] = std::move(requests);
  }
  UpstreamRequest req;
  req.url =
      join_url(base_url, "/models/" + name + (single ? ":embedContent" : ":batchEmbedContents"));
  req.headers.push_back({"x-goog-api-key", credential.secret});
  req.headers.push_back({"Content-Type", "application/json"});
  req.body = json_text(body);
  return req;
}

Result<EmbeddingResponse> decode_gemini_embeddings(const UpstreamResponse& response,
                                                   ErrorClassifier classify) {
  auto parsed = parse_object(response, "gemini", classify);
  if (!parsed) return std::move(parsed).error();
  EmbeddingResponse out;
  if (const json::object* one = object_at(*parsed, "embedding")) {
    auto floats = floats_of(one->if_contains("values"));
    if (!floats) {
      return provider_error("gemini", "upstream gemini answered an embedding without 'values'");
    }
    out.vectors.push_back(std::move(*floats));
    return out;
  }
  const auto* many = parsed->if_contains("embeddings");
  if (many == nullptr || !many->is_array()) {
    return provider_error("gemini", "upstream gemini answered without 'embedding' or 'embeddings'");
  }
  for (const auto& e : many->as_array()) {
    auto floats = e.is_object() ? floats_of(e.as_object().if_contains("values")) : std::nullopt;
    if (!floats) {
      return provider_error("gemini", "upstream gemini answered an embedding without 'values'");
    }
    out.vectors.push_back(std::move(*floats));
  }
  return out;
}

UpstreamRequest ollama_embeddings_request(std::string_view base_url, std::string_view model,
                                          const EmbeddingRequest& request,
                                          const Credential& credential) {
  json::object body;
  body["model"] = model;
  body["input"] = input_value(request);
  if (request.dimensions) body["dimensions"] = *request.dimensions;
  return openai_request(join_url(base_url, "/api/embed"), json_text(body), credential, false);
}

Result<EmbeddingResponse> decode_ollama_embeddings(const UpstreamResponse& response,
                                                   ErrorClassifier classify) {
  auto parsed = parse_object(response, "ollama", classify);
  if (!parsed) return std::move(parsed).error();
  const auto* many = parsed->if_contains("embeddings");
  if (many == nullptr || !many->is_array()) {
    return provider_error("ollama", "upstream ollama answered without an 'embeddings' array");
  }
  EmbeddingResponse out;
  for (const auto& e : many->as_array()) {
    auto floats = floats_of(&e);
    if (!floats) {
      return provider_error("ollama",
                            "upstream ollama answered an embedding that is not an "
                            "array of numbers");
    }
    out.vectors.push_back(std::move(*floats));
  }
  if (const auto n = count_of(parsed->if_contains("prompt_eval_count"))) {
    out.usage = prompt_usage(*n, *n);
  }
  return out;
}

}  // namespace bc::providers
