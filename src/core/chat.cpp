#include "core/chat.h"

#include <cmath>
#include <optional>
#include <string>

#include <boost/json.hpp>

#include "core/json_arena.h"

namespace bc {

namespace json = boost::json;

ChatRequest ChatRequest::scanned(RequestScan scan, std::string text) {
  ChatRequest req;
  req.model = scan.model == "auto" ? std::string() : scan.model;
  req.stream = scan.stream;
  req.has_tree_ = false;
  req.raw_.emplace(Raw{std::move(text), std::move(scan)});  // the offsets survive the move
  return req;
}

Result<ChatRequest> ChatRequest::parse(std::string_view text) {
  // The usual request: scanned, its text kept, no tree built.
  if (auto scan = scan_chat_request(text)) return scanned(std::move(*scan), std::string(text));
  // Everything the scan is not sure of, errors included: the tree decides.
  return parse_tree(text);
}

Result<ChatRequest> ChatRequest::parse_owned(std::string text) {
  if (auto scan = scan_chat_request(text)) return scanned(std::move(*scan), std::move(text));
  return parse_tree(text);
}

namespace {

// Boost.JSON reads a number beyond a double (1e400) as infinity, which no JSON can carry on:
// relayed, it would become null or a different number. The path of the first one, if any.
std::optional<std::string> non_finite_number(const json::value& v, const std::string& path) {
  if (v.is_double()) {
    if (std::isfinite(v.as_double())) return std::nullopt;
    return path.empty() ? std::string("body") : path;
  }
  if (v.is_array()) {
    std::size_t i = 0;
    for (const auto& item : v.as_array()) {
      if (auto at = non_finite_number(item, path + "[" + std::to_string(i++) + "]")) return at;
    }
  } else if (v.is_object()) {
    for (const auto& member : v.as_object()) {
      const std::string key(member.key());
      std::string at = path.empty() ? key : path + "." + key;
      if (auto found = non_finite_number(member.value(), at)) return found;
    }
  }
  return std::nullopt;
}

}  // namespace

Result<ChatRequest> ChatRequest::parse_tree(std::string_view text) {
  json::error_code ec;
  json::value parsed = parse_json_in_arena(text, ec);
  if (ec) {
    return Error::invalid_request("request body is not valid JSON: " + ec.message(),
                                  "invalid_json");
  }
  if (!parsed.is_object()) {
    return Error::invalid_request("request body must be a JSON object", "invalid_json");
  }
  if (auto at = non_finite_number(parsed, "")) {
    return Error::invalid_param(*at, *at + " is a number out of a double's range",
                                "number_out_of_range");
  }
  // Moved in by construction: assigning a json::object would copy it out of its arena.
  ChatRequest req(std::move(parsed.as_object()));
  const json::object& body = *req.body_;

  const auto* messages = body.if_contains("messages");
  if (messages == nullptr) {
    return Error::invalid_param("messages", "'messages' is required", "missing_messages");
  }
  if (!messages->is_array() || messages->as_array().empty()) {
    return Error::invalid_param("messages", "'messages' must be a non-empty array",
                                "invalid_messages");
  }
  std::size_t i = 0;
  for (const auto& m : messages->as_array()) {
    if (!m.is_object()) {
      const std::string at = "messages[" + std::to_string(i) + "]";
      return Error::invalid_param(at, at + " must be an object", "invalid_messages");
    }
    const auto* role = m.as_object().if_contains("role");
    if (role == nullptr || !role->is_string()) {
      const std::string at = "messages[" + std::to_string(i) + "].role";
      return Error::invalid_param(at, at + " must be a string", "invalid_messages");
    }
    ++i;
  }
  if (const auto* model = body.if_contains("model")) {
    if (!model->is_string() && !model->is_null()) {
      return Error::invalid_param("model", "'model' must be a string", "invalid_model");
    }
    if (model->is_string()) req.model = std::string(model->as_string());
  }
  if (req.model == "auto") req.model.clear();
  if (const auto* stream = body.if_contains("stream")) {
    if (!stream->is_bool() && !stream->is_null()) {
      return Error::invalid_param("stream", "'stream' must be a boolean", "invalid_stream");
    }
    req.stream = stream->is_bool() && stream->as_bool();
  }
  if (const auto* tools = body.if_contains("tools")) {
    if (!tools->is_array() && !tools->is_null()) {
      return Error::invalid_param("tools", "'tools' must be an array", "invalid_tools");
    }
  }
  return req;
}

void ChatRequest::materialize() const {
  if (has_tree_) return;
  json::error_code ec;
  json::value parsed = parse_json_in_arena(raw_->text, ec);
  // The scan accepted the text, so the parser does too (the fuzz target checks it); an empty
  // object is the safe answer should that ever fail.
  if (!ec && parsed.is_object()) body_.emplace(std::move(parsed.as_object()));
  has_tree_ = true;
}

const json::object& ChatRequest::body() const {
  materialize();
  return *body_;
}

json::object& ChatRequest::mutable_body() {
  materialize();
  raw_.reset();
  return *body_;
}

bool ChatRequest::has_tools() const {
  if (raw_) return raw_->scan.has_tools;
  const auto* tools = body_->if_contains("tools");
  return tools != nullptr && tools->is_array() && !tools->as_array().empty();
}

std::int64_t ChatRequest::content_chars() const {
  if (raw_) return raw_->scan.content_chars;
  std::int64_t chars = 0;
  if (const auto* messages = body_->if_contains("messages"); messages && messages->is_array()) {
    for (const auto& m : messages->as_array()) {
      if (!m.is_object()) continue;
      if (const auto* c = m.as_object().if_contains("content"); c != nullptr && c->is_string()) {
        chars += static_cast<std::int64_t>(c->as_string().size());
      }
    }
  }
  return chars;
}

std::optional<std::int64_t> ChatRequest::max_answer_tokens() const {
  if (raw_) {
    return raw_->scan.max_completion_tokens ? raw_->scan.max_completion_tokens
                                            : raw_->scan.max_tokens;
  }
  std::optional<std::int64_t> limit;
  for (const char* name : {"max_tokens", "max_completion_tokens"}) {
    if (const auto* v = body_->if_contains(name); v != nullptr && v->is_int64()) {
      limit = v->as_int64();
    }
  }
  return limit;
}

boost::json::object ChatResponse::completion_object() const {
  if (!completion.empty() || raw_json.empty()) return completion;
  boost::system::error_code ec;
  auto parsed = boost::json::parse(raw_json, ec);
  if (ec || !parsed.is_object()) return {};
  return std::move(parsed.as_object());
}

std::string ChatResponse::text() const {
  // Off the relay path (the native API, probes): parsing a relayed answer here is fine.
  const boost::json::object parsed =
      completion.empty() ? completion_object() : boost::json::object();
  const auto& tree = completion.empty() ? parsed : completion;
  const auto* choices = tree.if_contains("choices");
  if (choices == nullptr || !choices->is_array() || choices->as_array().empty()) return {};
  const auto& first = choices->as_array().front();
  if (!first.is_object()) return {};
  const auto* message = first.as_object().if_contains("message");
  if (message == nullptr || !message->is_object()) return {};
  const auto* content = message->as_object().if_contains("content");
  if (content == nullptr || !content->is_string()) return {};
  return std::string(content->as_string());
}

}  // namespace bc
