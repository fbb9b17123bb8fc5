#include "providers/openai.h"

#include <algorithm>

#include <boost/json.hpp>

#include "core/json_arena.h"
#include "core/json_text.h"
#include "providers/chunk_scan.h"
#include "providers/embeddings.h"
#include "providers/native.h"
#include "providers/upstream_error.h"

namespace bc::providers {

namespace json = boost::json;

namespace {

Error classify_openai(int status, const Headers& headers, std::string_view body) {
  return classify_http("openai", status, headers, body);
}

// Token counts from the upstream, bounded (a huge double would overflow the conversion).
std::int64_t to_int(const json::value* v) {
  return json_int(v);
}

Error tagged(Error e, const Dialect& dialect) {
  e.source = "upstream:" + std::string(dialect.provider);
  return e;
}

}  // namespace

Dialect openai_dialect() {
  return Dialect{"openai", &classify_openai};
}

std::string join_url(std::string_view base, std::string_view path) {
  while (!base.empty() && base.back() == '/') base.remove_suffix(1);
  std::string url(base);
  url.append(path);
  return url;
}

json::object openai_body(const ChatRequest& request, const ProviderOptions& options) {
  json::object body = request.body();
  body["model"] = options.upstream_model.empty() ? options.model_name : options.upstream_model;
  if (options.default_temperature) {
    const auto* t = body.if_contains("temperature");
    if (t == nullptr || t->is_null()) body["temperature"] = *options.default_temperature;
  }
  if (!options.supports_tools) {
    // parallel_tool_calls without tools is an error at OpenAI; functions/function_call are
    // the deprecated spelling of the same feature.
    for (std::string_view key :
         {"tools", "tool_choice", "parallel_tool_calls", "functions", "function_call"}) {
      body.erase(key);
    }
  }
  if (request.stream) {
    body["stream"] = true;
    auto* so = body.if_contains("stream_options");
    if (so == nullptr || so->is_null()) {
      body["stream_options"] = {{"include_usage", true}};
    } else if (so->is_object()) {
      so->as_object()["include_usage"] = true;  // as openai_body_text does
    }
  } else {
    body.erase("stream");
    body.erase("stream_options");  // rejected by OpenAI unless stream is true
  }
  return body;
}

namespace {

// Members openai_body drops when the model does not support tools.
bool is_tool_field(std::string_view key) {
  return key == "tools" || key == "tool_choice" || key == "parallel_tool_calls" ||
         key == "functions" || key == "function_call";
}

// openai_body_text for either form of a request: `for_each_member(visit)` calls
// visit(key, value_is_null, append_value) for each of the caller's members in order, where
// append_value(out) writes the value's JSON text.
template <typename ForEachMember>
std::string write_openai_body(const ChatRequest& request, const ProviderOptions& options,
                              std::size_t expected_size, ForEachMember for_each_member) {
  const std::string_view model =
      options.upstream_model.empty() ? options.model_name : options.upstream_model;
  constexpr std::string_view kIncludeUsage = R"({"include_usage":true})";
  std::string out;
  out.reserve(std::max<std::size_t>(1024, expected_size + 128));  // usually one allocation
  out.push_back('{');
  bool first = true;
  const auto member = [&](std::string_view key) {
    if (!first) out.push_back(',');
    first = false;
    append_json_string(out, key);
    out.push_back(':');
  };
  // The caller's members in their order, each overridden one written in its place; what
  // openai_body would add to an object without it comes after them.
  bool has_model = false;
  bool has_temperature = false;
  bool has_stream = false;
  bool has_stream_options = false;
  for_each_member([&](std::string_view key, bool is_null, const auto& append_value) {
    if (key == "model") {
      has_model = true;
      member(key);
      append_json_string(out, model);
    } else if (key == "temperature") {
      has_temperature = true;
      member(key);
      if (is_null && options.default_temperature) {
        append_json(out, json::value(*options.default_temperature));
      } else {
        append_value(out);
      }
    } else if (key == "stream") {
      has_stream = true;
      if (!request.stream) return;
      member(key);
      out += "true";
    } else if (key == "stream_options") {
      has_stream_options = true;
      if (!request.stream) return;
      member(key);
      if (is_null) {
        out += kIncludeUsage;
      } else {
        // The gateway counts every answer's tokens, so usage is asked for even when the
        // caller set include_usage false; its client still gets none (openai_shape.h).
        std::string caller;
        append_value(caller);
        json::error_code ec;
        json::value options = json::parse(caller, ec);
        if (!ec && options.is_object()) {
          options.as_object()["include_usage"] = true;
          append_json(out, options);
        } else {
          out += caller;  // not an object: the upstream says what is wrong with it
        }
      }
    } else if (!options.supports_tools && is_tool_field(key)) {
      return;
    } else {
      member(key);
      append_value(out);
    }
  });
  if (!has_model) {
    member("model");
    append_json_string(out, model);
  }
  if (!has_temperature && options.default_temperature) {
    member("temperature");
    append_json(out, json::value(*options.default_temperature));
  }
  if (request.stream) {
    if (!has_stream) {
      member("stream");
      out += "true";
    }
    if (!has_stream_options) {
      member("stream_options");
      out += kIncludeUsage;
    }
  }
  out.push_back('}');
  return out;
}

}  // namespace

std::string openai_body_text(const ChatRequest& request, const ProviderOptions& options) {
  // A scanned request: its members' values are copied as the caller wrote them (valid JSON,
  // checked by the scan), with no tree built and none serialized.
  if (const ChatRequest::Raw* raw = request.raw()) {
    return write_openai_body(request, options, raw->text.size(), [raw](const auto& visit) {
      for (const auto& m : raw->scan.members) {
        const std::string_view value = raw->value(m);
        visit(raw->key(m), value == "null", [value](std::string& out) { out.append(value); });
      }
    });
  }
  return write_openai_body(request, options, 0, [&request](const auto& visit) {
    for (const auto& kv : request.body()) {
      const json::value& value = kv.value();
      visit(kv.key(), value.is_null(), [&value](std::string& out) { append_json(out, value); });
    }
  });
}

UpstreamRequest openai_request(std::string url, std::string body, const Credential& credential,
                               bool stream) {
  UpstreamRequest req;
  req.method = "POST";
  req.url = std::move(url);
  req.headers.reserve(2);
  if (!credential.secret.empty()) {
    req.headers.push_back({"Authorization", "Bearer " + credential.secret});
  }
  req.headers.push_back({"Content-Type", "application/json"});
  req.body = std::move(body);
  req.stream = stream;
  return req;
}

UpstreamRequest openai_request(std::string url, const json::object& body,
                               const Credential& credential, bool stream) {
  return openai_request(std::move(url), json_text(body), credential, stream);
}

Usage read_usage(const json::object& usage) {
  Usage u;
  u.prompt_tokens = to_int(usage.if_contains("prompt_tokens"));
  u.completion_tokens = to_int(usage.if_contains("completion_tokens"));
  const auto* total = usage.if_contains("total_tokens");
  u.total_tokens = total != nullptr && (total->is_number()) ? to_int(total)
                                                            : u.prompt_tokens + u.completion_tokens;
  return u;
}

Result<json::object> parse_answer(const UpstreamResponse& response, const Dialect& dialect) {
  json::error_code ec;
  json::value parsed = parse_json_in_arena(response.body, ec);
  if (ec || !parsed.is_object()) {
    return tagged(Error::upstream("upstream " + std::string(dialect.provider) +
                                  " answered with a body that is not a JSON object" +
                                  (ec ? ": " + ec.message() : std::string())),
                  dialect);
  }
  if (read_upstream_error(parsed.as_object()).found) {
    return dialect.classify(response.status, response.headers, response.body);
  }
  return std::move(parsed.as_object());
}

Result<ChatResponse> completion_response(json::object completion, const Dialect& dialect) {
  const auto* choices = completion.if_contains("choices");
  if (choices == nullptr || !choices->is_array()) {
    return tagged(Error::upstream("upstream " + std::string(dialect.provider) +
                                  " answered without a 'choices' array"),
                  dialect);
  }
  Usage usage;
  if (const auto* u = completion.if_contains("usage"); u != nullptr && u->is_object()) {
    usage = read_usage(u->as_object());
  }
  // Moved in by construction: assigning a json::object would copy it out of its arena.
  return ChatResponse{
      .completion = std::move(completion), .usage = usage, .raw_json = {}, .message_json = {}};
}

// ---- provider ----

OpenAiProvider::OpenAiProvider(ProviderOptions options, Dialect dialect)
    : options_(std::move(options)), dialect_(dialect) {}

Result<UpstreamRequest> OpenAiProvider::encode_embeddings(const EmbeddingRequest& request,
                                                          const Credential& credential) const {
  const std::string_view base = options_.base_url.empty() ? kOpenAiBaseUrl : options_.base_url;
  return openai_request(join_url(base, "/embeddings"),
                        openai_embeddings_body(request, options_.upstream_model), credential,
                        false);
}

Result<EmbeddingResponse> OpenAiProvider::decode_embeddings(
    const UpstreamResponse& response) const {
  return decode_openai_embeddings(response, dialect_);
}

Result<UpstreamRequest> OpenAiProvider::encode(const ChatRequest& request,
                                               const Credential& credential) const {
  const std::string_view base = options_.base_url.empty() ? kOpenAiBaseUrl : options_.base_url;
  return openai_request(join_url(base, "/chat/completions"), openai_body_text(request, options_),
                        credential, request.stream);
}

Result<ChatResponse> OpenAiProvider::decode(const UpstreamResponse& response) const {
  // The usual answer is relayed as the upstream's own bytes and only its usage is read: a scan
  // validates it and reads that without building its tree. Anything the scan is not sure of
  // (an error report, odd counts, malformed JSON) takes the tree path below, which decides.
  if (const auto usage = scan_completion(response.body)) {
    return ChatResponse{
        .completion = {}, .usage = *usage, .raw_json = response.body, .message_json = {}};
  }
  auto parsed = parse_answer(response, dialect_);
  if (!parsed) return std::move(parsed).error();
  auto decoded = completion_response(std::move(parsed).value(), dialect_);
  // Nothing was rewritten: the client gets the upstream's own bytes.
  if (decoded) decoded->raw_json = response.body;
  return decoded;
}

std::unique_ptr<StreamDecoder> OpenAiProvider::stream_decoder() const {
  return std::make_unique<OpenAiStreamDecoder>(dialect_);
}

Error OpenAiProvider::classify(int status, const Headers& headers, std::string_view body) const {
  return dialect_.classify(status, headers, body);
}

std::unique_ptr<Provider> make_openai(ProviderOptions options) {
  return std::make_unique<OpenAiProvider>(std::move(options));
}

}  // namespace bc::providers
