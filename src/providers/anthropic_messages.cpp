// The Messages request read into the gateway's OpenAI chat request (anthropic_messages.h).
#include "providers/anthropic_messages.h"

#include <algorithm>

#include <boost/json.hpp>

#include "core/json_text.h"
#include "providers/json_read.h"

namespace bc::providers {

namespace json = boost::json;

namespace {

Error invalid(std::string message) {
  Error e = Error::invalid_request(std::move(message));
  e.source = "client";
  return e;
}

std::string where(std::size_t message, std::size_t block) {
  return "messages." + std::to_string(message) + ".content." + std::to_string(block);
}

// The text of a `system` or a tool_result's `content`: a string, or text blocks joined by a
// blank line. Other blocks are an error naming `field`.
Result<std::string> joined_text(const json::value& value, const std::string& field) {
  if (value.is_string()) return std::string(value.as_string());
  if (!value.is_array()) return invalid(field + ": expected a string or an array of blocks");
  std::string text;
  std::size_t i = 0;
  for (const auto& b : value.as_array()) {
    const auto* block = b.if_object();
    if (block == nullptr || text_of(block->if_contains("type")) != "text" ||
        !block->contains("text") || !block->at("text").is_string()) {
      return invalid(field + "." + std::to_string(i) + ": expected a text block");
    }
    if (!text.empty()) text += "\n\n";
    text += block->at("text").as_string();
    ++i;
  }
  return text;
}

// An image block's source as an OpenAI image_url part.
Result<json::object> image_part(const json::object& block, const std::string& field) {
  const auto* source = object_at(block, "source");
  if (source == nullptr) return invalid(field + ".source: expected an object");
  const std::string type = text_of(source->if_contains("type"));
  std::string url;
  if (type == "base64") {
    const std::string media = text_of(source->if_contains("media_type"));
    const std::string data = text_of(source->if_contains("data"));
    if (media.empty() || data.empty()) {
      return invalid(field + ".source: a base64 image needs media_type and data");
    }
    url = "data:" + media + ";base64," + data;
  } else if (type == "url") {
    url = text_of(source->if_contains("url"));
    if (url.empty()) return invalid(field + ".source.url: expected a string");
  } else {
    return invalid(field + ".source.type: expected \"base64\" or \"url\"");
  }
  return json::object{{"type", "image_url"}, {"image_url", json::object{{"url", url}}}};
}

// One user turn: its tool results become tool messages (first, as OpenAI wants them right
// after the assistant turn that called), the rest one user message.
Status add_user_turn(const json::value& content, std::size_t index, bool lenient,
                     json::array& out) {
  if (content.is_string()) {
    out.push_back(json::object{{"role", "user"}, {"content", content}});
    return {};
  }
  json::array parts;
  std::size_t i = 0;
  for (const auto& b : content.as_array()) {
    const std::string field = where(index, i++);
    const auto* block = b.if_object();
    if (block == nullptr) return invalid(field + ": expected an object");
    const std::string type = text_of(block->if_contains("type"));
    if (type == "text") {
      const std::string text = text_of(block->if_contains("text"));
      parts.push_back(json::object{{"type", "text"}, {"text", text}});
    } else if (type == "image") {
      auto part = image_part(*block, field);
      if (!part) return std::move(part).error();
      parts.push_back(std::move(part).value());
    } else if (type == "tool_result") {
      const std::string id = text_of(block->if_contains("tool_use_id"));
      if (id.empty()) return invalid(field + ".tool_use_id: expected a string");
      std::string text;
      if (const auto* c = block->if_contains("content"); c != nullptr && !c->is_null()) {
        auto joined = joined_text(*c, field + ".content");
        if (!joined) return std::move(joined).error();
        text = std::move(joined).value();
      }
      if (const auto* e = block->if_contains("is_error");
          e != nullptr && e->is_bool() && e->as_bool()) {
        // OpenAI's tool messages have no error flag: the model reads it in the text.
        text = "Error: " + text;
      }
      out.push_back(json::object{{"role", "tool"}, {"tool_call_id", id}, {"content", text}});
    } else if (!lenient) {
      return invalid(field + ".type: '" + type +
                     "' is not supported in a user turn (text, image, tool_result)");
    }
  }
  if (!parts.empty()) out.push_back(json::object{{"role", "user"}, {"content", std::move(parts)}});
  return {};
}

Status add_assistant_turn(const json::value& content, std::size_t index, bool lenient,
                          json::array& out) {
  if (content.is_string()) {
    out.push_back(json::object{{"role", "assistant"}, {"content", content}});
    return {};
  }
  std::string text;
  json::array calls;
  std::size_t i = 0;
  for (const auto& b : content.as_array()) {
    const std::string field = where(index, i++);
    const auto* block = b.if_object();
    if (block == nullptr) return invalid(field + ": expected an object");
    const std::string type = text_of(block->if_contains("type"));
    if (type == "text") {
      text += text_of(block->if_contains("text"));
    } else if (type == "tool_use") {
      const std::string id = text_of(block->if_contains("id"));
      const std::string name = text_of(block->if_contains("name"));
      if (id.empty() || name.empty()) return invalid(field + ": a tool_use needs id and name");
      const auto* input = block->if_contains("input");
      const std::string arguments =
          input != nullptr && input->is_object() ? json_text(*input) : std::string("{}");
      calls.push_back(
          json::object{{"id", id},
                       {"type", "function"},
                       {"function", json::object{{"name", name}, {"arguments", arguments}}}});
    } else if (type == "thinking" || type == "redacted_thinking") {
      continue;  // the upstream's own reasoning of an earlier turn: nothing takes it back
    } else if (!lenient) {
      return invalid(field + ".type: '" + type +
                     "' is not supported in an assistant turn (text, tool_use, thinking)");
    }
  }
  json::object message{{"role", "assistant"}};
  message["content"] = text.empty() && !calls.empty() ? json::value(nullptr) : json::value(text);
  if (!calls.empty()) message["tool_calls"] = std::move(calls);
  out.push_back(std::move(message));
  return {};
}

Result<json::array> tools_of(const json::value& tools, bool lenient) {
  if (!tools.is_array()) return invalid("tools: expected an array");
  json::array out;
  std::size_t i = 0;
  for (const auto& t : tools.as_array()) {
    const std::string field = "tools." + std::to_string(i++);
    const auto* tool = t.if_object();
    if (tool == nullptr) return invalid(field + ": expected an object");
    const std::string type = text_of(tool->if_contains("type"));
    if (!type.empty() && type != "custom") {
      if (lenient) continue;
      return invalid(field + ".type: the server tool '" + type +
                     "' is not supported through the gateway (custom tools only)");
    }
    const std::string name = text_of(tool->if_contains("name"));
    if (name.empty()) return invalid(field + ".name: expected a string");
    const auto* schema = object_at(*tool, "input_schema");
    if (schema == nullptr) return invalid(field + ".input_schema: expected an object");
    json::object function{{"name", name}};
    if (auto d = text_of(tool->if_contains("description")); !d.empty()) function["description"] = d;
    function["parameters"] = *schema;
    out.push_back(json::object{{"type", "function"}, {"function", std::move(function)}});
  }
  return out;
}

// tool_choice into `body`: auto, any (required), tool (one named), none; and
// disable_parallel_tool_use as parallel_tool_calls.
Status set_tool_choice(const json::value& choice, json::object& body) {
  const auto* c = choice.if_object();
  if (c == nullptr) return invalid("tool_choice: expected an object");
  const std::string type = text_of(c->if_contains("type"));
  if (type == "auto") {
    body["tool_choice"] = "auto";
  } else if (type == "any") {
    body["tool_choice"] = "required";
  } else if (type == "none") {
    body["tool_choice"] = "none";
  } else if (type == "tool") {
    const std::string name = text_of(c->if_contains("name"));
    if (name.empty()) return invalid("tool_choice.name: expected a string");
    body["tool_choice"] =
        json::object{{"type", "function"}, {"function", json::object{{"name", name}}}};
  } else {
    return invalid("tool_choice.type: expected \"auto\", \"any\", \"tool\" or \"none\"");
  }
  if (const auto* p = c->if_contains("disable_parallel_tool_use");
      p != nullptr && p->is_bool() && p->as_bool() && type != "none") {
    body["parallel_tool_calls"] = false;
  }
  return {};
}

// The sampling members, copied under OpenAI's names (top_k is the gateway's extension that
// Anthropic, Gemini and Ollama upstreams read).
Status copy_sampling(const json::object& in, json::object& body) {
  for (std::string_view key : {"temperature", "top_p", "top_k"}) {
    const auto* v = in.if_contains(key);
    if (v == nullptr || v->is_null()) continue;
    if (!v->is_number()) return invalid(std::string(key) + ": expected a number");
    body[key] = *v;
  }
  if (const auto* s = in.if_contains("stop_sequences"); s != nullptr && !s->is_null()) {
    if (!s->is_array()) return invalid("stop_sequences: expected an array of strings");
    json::array stop;
    for (const auto& seq : s->as_array()) {
      if (!seq.is_string()) return invalid("stop_sequences: expected an array of strings");
      stop.push_back(seq);
    }
    if (!stop.empty()) body["stop"] = std::move(stop);
  }
  if (const auto* m = object_at(in, "metadata")) {
    if (auto user = text_of(m->if_contains("user_id")); !user.empty()) body["user"] = user;
  }
  return {};
}

Result<json::array> messages_of(const json::object& in, bool lenient) {
  json::array out;
  if (const auto* system = in.if_contains("system"); system != nullptr && !system->is_null()) {
    auto text = joined_text(*system, "system");
    if (!text) return std::move(text).error();
    if (!text->empty()) out.push_back(json::object{{"role", "system"}, {"content", *text}});
  }
  const auto* messages = in.if_contains("messages");
  if (messages == nullptr || !messages->is_array() || messages->as_array().empty()) {
    return invalid("messages: expected a non-empty array");
  }
  std::size_t i = 0;
  for (const auto& m : messages->as_array()) {
    const std::string field = "messages." + std::to_string(i);
    const auto* message = m.if_object();
    if (message == nullptr) return invalid(field + ": expected an object");
    const auto* content = message->if_contains("content");
    if (content == nullptr || !(content->is_string() || content->is_array())) {
      return invalid(field + ".content: expected a string or an array of blocks");
    }
    const std::string role = text_of(message->if_contains("role"));
    Status added;
    if (role == "user") {
      added = add_user_turn(*content, i, lenient, out);
    } else if (role == "assistant") {
      added = add_assistant_turn(*content, i, lenient, out);
    } else {
      return invalid(field + ".role: expected \"user\" or \"assistant\"");
    }
    if (!added) return std::move(added).error();
    ++i;
  }
  return out;
}

}  // namespace

Result<ChatRequest> parse_messages_request(std::string_view text, MessagesCall call, bool lenient) {
  json::error_code ec;
  json::value parsed = json::parse(text, ec);
  if (ec || !parsed.is_object()) return invalid("the request body is not a JSON object");
  const json::object& in = parsed.as_object();

  const auto* model = in.if_contains("model");
  if (model == nullptr || !model->is_string() || model->as_string().empty()) {
    return invalid("model: Field required (a string naming a model)");
  }
  const auto* max_tokens = in.if_contains("max_tokens");
  if (call == MessagesCall::kCreate) {
    if (max_tokens == nullptr) return invalid("max_tokens: Field required");
    if (!(max_tokens->is_int64() && max_tokens->as_int64() > 0) && !max_tokens->is_uint64()) {
      return invalid("max_tokens: expected a positive integer");
    }
  }
  bool stream = false;
  if (const auto* s = in.if_contains("stream");
      call == MessagesCall::kCreate && s != nullptr && !s->is_null()) {
    if (!s->is_bool()) return invalid("stream: expected a boolean");
    stream = s->as_bool();
  }

  auto messages = messages_of(in, lenient);
  if (!messages) return std::move(messages).error();
  json::object body;
  body["model"] = *model;
  body["messages"] = std::move(messages).value();
  if (call == MessagesCall::kCreate) body["max_tokens"] = *max_tokens;
  if (stream) body["stream"] = true;
  if (Status sampled = copy_sampling(in, body); !sampled) return std::move(sampled).error();
  if (const auto* tools = in.if_contains("tools"); tools != nullptr && !tools->is_null()) {
    auto list = tools_of(*tools, lenient);
    if (!list) return std::move(list).error();
    if (!list->empty()) body["tools"] = std::move(list).value();
  }
  if (const auto* choice = in.if_contains("tool_choice"); choice != nullptr && !choice->is_null()) {
    if (Status set = set_tool_choice(*choice, body); !set) return std::move(set).error();
  }

  ChatRequest request(std::move(body));
  request.model = std::string(model->as_string());
  request.stream = stream;
  // Kept whole for an upstream that speaks this API itself (passthrough): `in` is not read
  // after this.
  request.messages = std::make_shared<ChatRequest::Messages>();
  request.messages->body = std::move(parsed.as_object());
  request.messages->count_tokens = call == MessagesCall::kCountTokens;
  return request;
}

std::int64_t estimate_input_tokens(const ChatRequest& request) {
  const json::object& body = request.body();
  std::size_t bytes = 0;
  auto add_text = [&](const json::value& v) {
    if (v.is_string()) bytes += v.as_string().size();
  };
  if (const auto* messages = body.if_contains("messages"); messages && messages->is_array()) {
    for (const auto& m : messages->as_array()) {
      const auto* message = m.if_object();
      if (message == nullptr) continue;
      if (const auto* content = message->if_contains("content")) {
        add_text(*content);
        if (const auto* parts = content->if_array()) {
          for (const auto& p : *parts) {
            if (const auto* part = p.if_object(); part && part->contains("text")) {
              add_text(part->at("text"));
            }
          }
        }
      }
      if (const auto* calls = message->if_contains("tool_calls"); calls && calls->is_array()) {
        bytes += json_text(*calls).size();
      }
    }
  }
  if (const auto* tools = body.if_contains("tools")) bytes += json_text(*tools).size();
  return std::max<std::int64_t>(1, static_cast<std::int64_t>((bytes + 3) / 4));
}

std::string_view anthropic_error_type(const Error& error) {
  switch (error.status()) {
    case 400:
    case 405:
    case 422:
      return "invalid_request_error";
    case 401:
      return "authentication_error";
    case 402:
      return "billing_error";
    case 403:
      return "permission_error";
    case 404:
      return "not_found_error";
    case 413:
      return "request_too_large";
    case 429:
      return "rate_limit_error";
    case 503:
    case 529:
      return "overloaded_error";
    case 504:
      return "timeout_error";
    default:
      return "api_error";
  }
}

std::string anthropic_error_json(const Error& error) {
  json::object body{
      {"type", "error"},
      {"error", json::object{{"type", anthropic_error_type(error)}, {"message", error.message}}}};
  return json_text(body);
}

}  // namespace bc::providers
