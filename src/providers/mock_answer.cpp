#include "providers/mock_answer.h"

#include <algorithm>

#include <boost/json.hpp>

#include "core/json_text.h"

namespace bc::providers {

namespace json = boost::json;

namespace {

constexpr std::size_t kQuotedChars = 40;
// A word longer than this is cut into pieces of kPieceChars, as a tokenizer would.
constexpr std::size_t kLongWordChars = 8;
constexpr std::size_t kPieceChars = 4;

bool is_continuation(char c) {
  return (static_cast<unsigned char>(c) & 0xC0) == 0x80;
}

// Number of UTF-8 code points.
std::size_t char_count(std::string_view s) {
  std::size_t n = 0;
  for (char c : s) n += is_continuation(c) ? 0 : 1;
  return n;
}

// The first `n` code points of `s`.
std::string_view first_chars(std::string_view s, std::size_t n) {
  std::size_t i = 0;
  for (std::size_t seen = 0; i < s.size(); ++i) {
    if (!is_continuation(s[i])) {
      if (seen == n) break;
      ++seen;
    }
  }
  return s.substr(0, i);
}

// The text of a message's content: a string, or the text parts of an array.
std::string content_text(const json::value* content) {
  if (content == nullptr) return {};
  if (content->is_string()) return std::string(content->as_string());
  std::string out;
  if (content->is_array()) {
    for (const auto& part : content->as_array()) {
      if (!part.is_object()) continue;
      const auto* text = part.as_object().if_contains("text");
      if (text != nullptr && text->is_string()) {
        if (!out.empty()) out.push_back(' ');
        out.append(text->as_string().data(), text->as_string().size());
      }
    }
  }
  return out;
}

std::vector<std::string> split_pieces(std::string_view text) {
  std::vector<std::string> pieces;
  std::size_t i = 0;
  while (i < text.size()) {
    // A piece is leading spaces and one word, long words cut into shorter pieces.
    std::size_t j = i;
    while (j < text.size() && (text[j] == ' ' || text[j] == '\n')) ++j;
    std::size_t end = j;
    while (end < text.size() && text[end] != ' ' && text[end] != '\n') ++end;
    std::string_view word = text.substr(j, end - j);
    if (char_count(word) <= kLongWordChars) {
      pieces.emplace_back(text.substr(i, end - i));
      i = end;
      continue;
    }
    std::string_view head = first_chars(word, kPieceChars);
    pieces.emplace_back(text.substr(i, (j - i) + head.size()));
    i = j + head.size();
  }
  return pieces;
}

std::int64_t positive_int(const json::object& body, std::string_view key) {
  const auto* v = body.if_contains(key);
  if (v == nullptr) return 0;
  if (v->is_int64()) return v->as_int64() > 0 ? v->as_int64() : 0;
  if (v->is_uint64()) return static_cast<std::int64_t>(v->as_uint64());
  return 0;
}

json::object usage_json(const Usage& u) {
  return json::object{{"prompt_tokens", u.prompt_tokens},
                      {"completion_tokens", u.completion_tokens},
                      {"total_tokens", u.total_tokens}};
}

json::object chunk(const MockAnswer& a, json::object delta, json::value finish_reason) {
  json::object choice{{"index", 0}, {"delta", std::move(delta)}, {"logprobs", nullptr}};
  choice["finish_reason"] = std::move(finish_reason);
  return json::object{{"id", a.id},
                      {"object", "chat.completion.chunk"},
                      {"created", a.created},
                      {"model", a.model},
                      {"choices", json::array{std::move(choice)}}};
}

std::string event(const json::object& chunk) {
  return "data: " + json_text(chunk) + "\n\n";
}

}  // namespace

std::string MockAnswer::text() const {
  std::string out;
  for (const auto& p : pieces) out += p;
  return out;
}

MockAnswer make_mock_answer(const json::object& request_body, const MockOptions& opts,
                            std::string_view model, std::string id, std::int64_t created_unix) {
  MockAnswer a;
  a.id = std::move(id);
  a.created = created_unix;
  a.model = std::string(model);

  std::size_t prompt_chars = 0;
  std::string last_user;
  if (const auto* messages = request_body.if_contains("messages");
      messages != nullptr && messages->is_array()) {
    for (const auto& m : messages->as_array()) {
      if (!m.is_object()) continue;
      std::string text = content_text(m.as_object().if_contains("content"));
      prompt_chars += char_count(text);
      const auto* role = m.as_object().if_contains("role");
      if (role != nullptr && role->is_string() && role->as_string() == "user") {
        last_user = std::move(text);
      }
    }
  }

  std::string text = opts.reply;
  if (text.empty()) {
    text = "This is a mock answer from " + a.model +
           " to: " + std::string(first_chars(last_user, kQuotedChars));
  }
  a.pieces = split_pieces(text);

  std::int64_t limit = positive_int(request_body, "max_completion_tokens");
  if (limit == 0) limit = positive_int(request_body, "max_tokens");
  if (limit > 0 && static_cast<std::size_t>(limit) < a.pieces.size()) {
    a.pieces.resize(static_cast<std::size_t>(limit));
    a.finish_reason = "length";
  }

  a.usage.prompt_tokens = static_cast<std::int64_t>((prompt_chars + 3) / 4);
  a.usage.completion_tokens = static_cast<std::int64_t>(a.pieces.size());
  a.usage.total_tokens = a.usage.prompt_tokens + a.usage.completion_tokens;
  return a;
}

std::string mock_completion_json(const MockAnswer& a) {
  json::object message{{"role", "assistant"}, {"content", a.text()}, {"refusal", nullptr}};
  json::object choice{{"index", 0},
                      {"message", std::move(message)},
                      {"logprobs", nullptr},
                      {"finish_reason", a.finish_reason}};
  json::object completion{{"id", a.id},
                          {"object", "chat.completion"},
                          {"created", a.created},
                          {"model", a.model},
                          {"choices", json::array{std::move(choice)}},
                          {"usage", usage_json(a.usage)}};
  return json_text(completion);
}

std::vector<std::string> mock_sse_events(const MockAnswer& a) {
  std::vector<std::string> events;
  events.reserve(a.pieces.size() + 4);
  events.push_back(event(chunk(a, {{"role", "assistant"}, {"content", ""}}, nullptr)));
  for (const auto& piece : a.pieces) {
    events.push_back(event(chunk(a, {{"content", piece}}, nullptr)));
  }
  events.push_back(event(chunk(a, {}, json::string(a.finish_reason))));
  // The usage chunk OpenAI sends with stream_options.include_usage: no choices. (The gateway
  // writes it, and `"usage": null` on the others, only for a caller that asked.)
  json::object usage_chunk = chunk(a, {}, nullptr);
  usage_chunk["choices"] = json::array();
  usage_chunk["usage"] = usage_json(a.usage);
  events.push_back(event(usage_chunk));
  events.push_back("data: [DONE]\n\n");
  return events;
}

Result<std::string> mock_embeddings_json(const json::object& request_body, std::string_view model) {
  EmbeddingResponse response;
  Usage usage;
  const auto add = [&](std::string_view text, int dims) {
    response.vectors.push_back(mock_embedding(text, dims));
    usage.prompt_tokens += mock_embedding_tokens(text);
  };
  int dims = kMockEmbeddingDims;
  if (const auto* d = request_body.if_contains("dimensions"); d != nullptr && d->is_int64()) {
    dims = static_cast<int>(std::clamp<std::int64_t>(d->as_int64(), 1, 65536));
  }
  const auto* input = request_body.if_contains("input");
  if (input != nullptr && input->is_string()) {
    add(input->as_string(), dims);
  } else if (input != nullptr && input->is_array() && !input->as_array().empty()) {
    for (const auto& item : input->as_array()) {
      if (!item.is_string()) return Error::invalid_request("mock: 'input' items must be strings");
      add(item.as_string(), dims);
    }
  } else {
    return Error::invalid_request("mock: 'input' must be a string or an array of strings");
  }
  usage.total_tokens = usage.prompt_tokens;
  return render_embeddings(response, model, false, usage);
}

}  // namespace bc::providers
