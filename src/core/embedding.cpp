#include "core/embedding.h"

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstring>

#include <boost/json.hpp>

#include "core/json_text.h"

namespace bc {

namespace json = boost::json;

namespace {

// OpenAI's own bound on the inputs of one request.
constexpr std::size_t kMaxInputs = 2048;

Error field_error(std::string param, std::string message, std::string code = "invalid_value") {
  Error e = Error::invalid_request(std::move(message), std::move(code));
  e.param = std::move(param);
  e.source = "client";
  return e;
}

constexpr char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

int sextet(char c) {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return c - 'a' + 26;
  if (c >= '0' && c <= '9') return c - '0' + 52;
  if (c == '+') return 62;
  if (c == '/') return 63;
  return -1;
}

std::string base64(std::string_view bytes) {
  std::string out;
  out.reserve((bytes.size() + 2) / 3 * 4);
  std::size_t i = 0;
  for (; i + 3 <= bytes.size(); i += 3) {
    const auto n = (std::uint32_t(std::uint8_t(bytes[i])) << 16) |
                   (std::uint32_t(std::uint8_t(bytes[i + 1])) << 8) | std::uint8_t(bytes[i + 2]);
    out += kAlphabet[(n >> 18) & 63];
    out += kAlphabet[(n >> 12) & 63];
    out += kAlphabet[(n >> 6) & 63];
    out += kAlphabet[n & 63];
  }
  const std::size_t rest = bytes.size() - i;
  if (rest > 0) {
    std::uint32_t n = std::uint32_t(std::uint8_t(bytes[i])) << 16;
    if (rest == 2) n |= std::uint32_t(std::uint8_t(bytes[i + 1])) << 8;
    out += kAlphabet[(n >> 18) & 63];
    out += kAlphabet[(n >> 12) & 63];
    out += rest == 2 ? kAlphabet[(n >> 6) & 63] : '=';
    out += '=';
  }
  return out;
}

// IEEE 754 binary32 as the little-endian bytes OpenAI's base64 carries, whatever the host.
void append_le(std::string& out, float f) {
  const auto bits = std::bit_cast<std::uint32_t>(f);
  for (int b = 0; b < 4; ++b) out += static_cast<char>((bits >> (8 * b)) & 0xff);
}

}  // namespace

std::int64_t EmbeddingRequest::content_chars() const {
  std::int64_t n = 0;
  for (const auto& text : inputs) n += static_cast<std::int64_t>(text.size());
  return n;
}

std::int64_t EmbeddingRequest::estimated_tokens() const {
  // At least one token an input, as every tokenizer counts.
  return std::max<std::int64_t>(content_chars() / 4, static_cast<std::int64_t>(inputs.size()));
}

Result<EmbeddingRequest> parse_embedding_request(std::string_view body) {
  json::error_code ec;
  json::value parsed = json::parse(body, ec);
  if (ec || !parsed.is_object()) {
    Error e = Error::invalid_request("the request body must be a JSON object", "invalid_json");
    e.source = "client";
    return e;
  }
  const json::object& o = parsed.as_object();
  EmbeddingRequest request;

  const auto* model = o.if_contains("model");
  if (model == nullptr || !model->is_string() || model->as_string().empty()) {
    return field_error("model", "'model' is required: the name of an embedding model",
                       "missing_required_parameter");
  }
  request.model = std::string(model->as_string());

  const auto* input = o.if_contains("input");
  if (input == nullptr || input->is_null()) {
    return field_error("input", "'input' is required: a string or an array of strings",
                       "missing_required_parameter");
  }
  if (input->is_string()) {
    request.single = true;
    request.inputs.emplace_back(input->as_string());
  } else if (input->is_array()) {
    const auto& items = input->as_array();
    if (items.empty()) return field_error("input", "'input' must not be an empty array");
    if (items.size() > kMaxInputs) {
      return field_error("input", "'input' may hold at most " + std::to_string(kMaxInputs) +
                                      " items; split the request");
    }
    for (const auto& item : items) {
      if (item.is_number() || item.is_array()) {
        return field_error("input",
                           "'input' as token ids is not supported by this gateway (its upstreams "
                           "take text): send a string or an array of strings",
                           "unsupported_input");
      }
      if (!item.is_string()) {
        return field_error("input", "every item of 'input' must be a string");
      }
      request.inputs.emplace_back(item.as_string());
    }
  } else {
    return field_error("input", "'input' must be a string or an array of strings");
  }
  for (const auto& text : request.inputs) {
    if (text.empty()) return field_error("input", "'input' must not contain an empty string");
  }

  if (const auto* dims = o.if_contains("dimensions"); dims != nullptr && !dims->is_null()) {
    const bool positive = (dims->is_int64() && dims->as_int64() > 0 && dims->as_int64() <= 65536) ||
                          (dims->is_uint64() && dims->as_uint64() <= 65536);
    if (!positive) return field_error("dimensions", "'dimensions' must be a positive integer");
    request.dimensions = static_cast<int>(dims->to_number<std::int64_t>());
  }
  if (const auto* format = o.if_contains("encoding_format");
      format != nullptr && !format->is_null()) {
    if (!format->is_string() ||
        (format->as_string() != "float" && format->as_string() != "base64")) {
      return field_error("encoding_format", "'encoding_format' must be \"float\" or \"base64\"");
    }
    request.base64 = format->as_string() == "base64";
  }
  if (const auto* user = o.if_contains("user"); user != nullptr && !user->is_null()) {
    if (!user->is_string()) return field_error("user", "'user' must be a string");
  }
  return request;
}

std::string render_embeddings(const EmbeddingResponse& response, std::string_view model,
                              bool base64, const Usage& usage) {
  // Written by hand: a float array through json::value would double every number's size in
  // memory for an answer that can hold 2048 vectors of 3072 floats.
  std::string out = R"({"object":"list","data":[)";
  for (std::size_t i = 0; i < response.vectors.size(); ++i) {
    if (i > 0) out += ',';
    out += R"({"object":"embedding","index":)";
    out += std::to_string(i);
    out += R"(,"embedding":)";
    if (base64) {
      out += '"';
      out += base64_floats(response.vectors[i]);
      out += '"';
    } else {
      out += '[';
      bool first = true;
      for (const float f : response.vectors[i]) {
        if (!first) out += ',';
        first = false;
        // A float's shortest round-trip text through JSON's double.
        append_json(out, json::value(static_cast<double>(f)));
      }
      out += ']';
    }
    out += '}';
  }
  out += R"(],"model":)";
  append_json_string(out, model);
  out += R"(,"usage":{"prompt_tokens":)";
  out += std::to_string(usage.prompt_tokens);
  out += R"(,"total_tokens":)";
  out += std::to_string(usage.total_tokens);
  out += "}}";
  return out;
}

std::string base64_floats(const std::vector<float>& vector) {
  std::string bytes;
  bytes.reserve(vector.size() * 4);
  for (const float f : vector) append_le(bytes, f);
  return base64(bytes);
}

std::optional<std::vector<float>> floats_from_base64(std::string_view text) {
  if (text.size() % 4 != 0) return std::nullopt;
  std::string bytes;
  bytes.reserve(text.size() / 4 * 3);
  for (std::size_t i = 0; i < text.size(); i += 4) {
    int v[4];
    int pad = 0;
    for (int k = 0; k < 4; ++k) {
      const char c = text[i + k];
      if (c == '=' && i + 4 == text.size() && k >= 2) {
        v[k] = 0;
        ++pad;
        continue;
      }
      if (pad > 0) return std::nullopt;  // data after padding
      v[k] = sextet(c);
      if (v[k] < 0) return std::nullopt;
    }
    const std::uint32_t n = (std::uint32_t(v[0]) << 18) | (std::uint32_t(v[1]) << 12) |
                            (std::uint32_t(v[2]) << 6) | std::uint32_t(v[3]);
    bytes += static_cast<char>((n >> 16) & 0xff);
    if (pad < 2) bytes += static_cast<char>((n >> 8) & 0xff);
    if (pad < 1) bytes += static_cast<char>(n & 0xff);
  }
  if (bytes.size() % 4 != 0) return std::nullopt;
  std::vector<float> out(bytes.size() / 4);
  for (std::size_t i = 0; i < out.size(); ++i) {
    std::uint32_t bits = 0;
    for (int b = 0; b < 4; ++b) bits |= std::uint32_t(std::uint8_t(bytes[4 * i + b])) << (8 * b);
    out[i] = std::bit_cast<float>(bits);
  }
  return out;
}

std::int64_t mock_embedding_tokens(std::string_view text) {
  std::int64_t words = 0;
  bool in_word = false;
  for (const char c : text) {
    const bool space = c == ' ' || c == '\t' || c == '\n' || c == '\r';
    if (!space && !in_word) ++words;
    in_word = !space;
  }
  return std::max<std::int64_t>(words, 1);
}

std::vector<float> mock_embedding(std::string_view text, int dims) {
  // FNV-1a seeds splitmix64: cheap, stable across platforms and runs.
  std::uint64_t state = 1469598103934665603ULL;
  for (const char c : text) {
    state ^= static_cast<std::uint8_t>(c);
    state *= 1099511628211ULL;
  }
  std::vector<float> v(static_cast<std::size_t>(std::max(dims, 1)));
  double norm = 0;
  for (auto& x : v) {
    state += 0x9e3779b97f4a7c15ULL;
    std::uint64_t z = state;
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    z ^= z >> 31;
    x = static_cast<float>(static_cast<double>(z >> 11) / 9007199254740992.0 * 2.0 - 1.0);
    norm += static_cast<double>(x) * x;
  }
  norm = std::sqrt(norm);
  if (norm > 0) {
    for (auto& x : v) x = static_cast<float>(x / norm);
  }
  return v;
}

}  // namespace bc
