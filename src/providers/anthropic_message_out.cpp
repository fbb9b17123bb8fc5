// The gateway's OpenAI answers written as Anthropic Messages: the whole Message, and the
// events of a streamed one (anthropic_messages.h).
#include <boost/json.hpp>

#include "core/json_text.h"
#include "providers/anthropic_messages.h"
#include "providers/json_read.h"

namespace bc::providers {

namespace json = boost::json;

namespace {

json::object usage_object(const Usage& usage) {
  return {{"input_tokens", usage.prompt_tokens}, {"output_tokens", usage.completion_tokens}};
}

// An OpenAI tool call's arguments (a JSON string) as the object Anthropic's `input` is; ""
// is {}. nullopt when they are not a JSON object.
std::optional<json::object> input_of(std::string_view arguments) {
  if (arguments.find_first_not_of(" \t\r\n") == std::string_view::npos) return json::object{};
  json::error_code ec;
  json::value parsed = json::parse(arguments, ec);
  if (ec || !parsed.is_object()) return std::nullopt;
  return std::move(parsed.as_object());
}

void append_event(std::string_view name, const json::object& data, std::string& out) {
  out.append("event: ").append(name).append("\ndata: ");
  out.append(json_text(data));
  out.append("\n\n");
}

}  // namespace

std::string_view stop_reason_of(std::string_view finish_reason) {
  if (finish_reason == "length") return "max_tokens";
  if (finish_reason == "tool_calls" || finish_reason == "function_call") return "tool_use";
  if (finish_reason == "content_filter") return "refusal";
  return "end_turn";
}

Result<std::string> message_of(const ChatResponse& response, std::string_view id,
                               std::string_view model) {
  const json::object completion = response.completion_object();
  json::array content;
  std::string finish = "stop";
  if (const auto* choices = completion.if_contains("choices");
      choices != nullptr && choices->is_array() && !choices->as_array().empty() &&
      choices->as_array()[0].is_object()) {
    const auto& choice = choices->as_array()[0].as_object();
    if (auto f = text_of(choice.if_contains("finish_reason")); !f.empty()) finish = std::move(f);
    if (const auto* message = object_at(choice, "message")) {
      if (auto text = text_of(message->if_contains("content")); !text.empty()) {
        content.push_back(json::object{{"type", "text"}, {"text", std::move(text)}});
      }
      if (const auto* calls = message->if_contains("tool_calls"); calls && calls->is_array()) {
        for (const auto& c : calls->as_array()) {
          const auto* call = c.if_object();
          const auto* fn = call != nullptr ? object_at(*call, "function") : nullptr;
          if (fn == nullptr) continue;
          const std::string name = text_of(fn->if_contains("name"));
          auto input = input_of(text_of(fn->if_contains("arguments")));
          if (!input) {
            Error e = Error::upstream("the upstream's call of tool '" + name +
                                      "' has arguments that are not a JSON object");
            return e;
          }
          content.push_back(json::object{{"type", "tool_use"},
                                         {"id", text_of(call->if_contains("id"))},
                                         {"name", name},
                                         {"input", std::move(*input)}});
        }
      }
    }
  }
  json::object out{{"id", id},
                   {"type", "message"},
                   {"role", "assistant"},
                   {"model", model},
                   {"content", std::move(content)},
                   {"stop_reason", stop_reason_of(finish)},
                   {"stop_sequence", nullptr},
                   {"usage", usage_object(response.usage)}};
  return json_text(out);
}

void MessageEventWriter::start(std::string& out) {
  if (started_) return;
  started_ = true;
  json::object message{{"id", id_},
                       {"type", "message"},
                       {"role", "assistant"},
                       {"model", model_},
                       {"content", json::array()},
                       {"stop_reason", nullptr},
                       {"stop_sequence", nullptr},
                       // Counted by the upstream only at the end: message_delta carries them.
                       {"usage", usage_object(Usage{})}};
  append_event("message_start", json::object{{"type", "message_start"}, {"message", message}}, out);
}

void MessageEventWriter::ping(std::string& out) {
  start(out);  // message_start is always the first event
  out.append("event: ping\ndata: {\"type\":\"ping\"}\n\n");
}

void MessageEventWriter::open_block(const json::object& block, std::string& out) {
  close_block(out);
  append_event(
      "content_block_start",
      json::object{{"type", "content_block_start"}, {"index", blocks_}, {"content_block", block}},
      out);
  ++blocks_;
  block_open_ = true;
}

void MessageEventWriter::close_block(std::string& out) {
  if (!block_open_) return;
  append_event("content_block_stop",
               json::object{{"type", "content_block_stop"}, {"index", blocks_ - 1}}, out);
  block_open_ = false;
  block_is_text_ = false;
}

void MessageEventWriter::text(std::string_view text, std::string& out) {
  if (text.empty()) return;
  if (!block_open_ || !block_is_text_) {
    open_block(json::object{{"type", "text"}, {"text", ""}}, out);
    block_is_text_ = true;
  }
  append_event("content_block_delta",
               json::object{{"type", "content_block_delta"},
                            {"index", blocks_ - 1},
                            {"delta", json::object{{"type", "text_delta"}, {"text", text}}}},
               out);
}

void MessageEventWriter::tool_call(const json::object& call, std::string& out) {
  const auto* index_value = call.if_contains("index");
  const std::int64_t index =
      index_value != nullptr && index_value->is_int64() ? index_value->as_int64() : 0;
  int block = -1;
  for (const auto& [tool, b] : tool_blocks_) {
    if (tool == index) block = b;
  }
  const auto* fn = object_at(call, "function");
  if (block < 0) {
    // The call's first delta names it: a tool_use block of its own.
    json::object start{{"type", "tool_use"},
                       {"id", text_of(call.if_contains("id"))},
                       {"name", fn != nullptr ? text_of(fn->if_contains("name")) : std::string()},
                       {"input", json::object()}};
    open_block(start, out);
    block = blocks_ - 1;
    tool_blocks_.emplace_back(index, block);
  }
  const std::string fragment = fn != nullptr ? text_of(fn->if_contains("arguments")) : "";
  if (fragment.empty()) return;
  append_event("content_block_delta",
               json::object{{"type", "content_block_delta"},
                            {"index", block},
                            {"delta", json::object{{"type", "input_json_delta"},
                                                   {"partial_json", fragment}}}},
               out);
}

void MessageEventWriter::add(const RelayDelta& delta, std::string& out) {
  start(out);
  if (delta.usage) usage_ = delta.usage;
  if (!delta.finish_reason.empty()) finish_reason_ = delta.finish_reason;
  if (delta.chunks > 1) {
    text(delta.text, out);  // a merged run: ordinary content only (RelayDelta::chunks)
    return;
  }
  json::error_code ec;
  const json::value chunk = json::parse(delta.chunk(), ec);
  if (ec || !chunk.is_object()) return;  // the decoders relay only objects
  const auto& c = chunk.as_object();
  if (const auto* u = object_at(c, "usage"); u != nullptr && !delta.usage) {
    Usage usage;
    if (const auto* p = u->if_contains("prompt_tokens"); p && p->is_int64())
      usage.prompt_tokens = p->as_int64();
    if (const auto* p = u->if_contains("completion_tokens"); p && p->is_int64())
      usage.completion_tokens = p->as_int64();
    usage_ = usage;
  }
  const auto* choices = c.if_contains("choices");
  if (choices == nullptr || !choices->is_array() || choices->as_array().empty()) return;
  const auto* choice = choices->as_array()[0].if_object();
  if (choice == nullptr) return;
  if (auto f = text_of(choice->if_contains("finish_reason")); !f.empty()) finish_reason_ = f;
  const auto* d = object_at(*choice, "delta");
  if (d == nullptr) return;
  text(text_of(d->if_contains("content")), out);
  if (const auto* calls = d->if_contains("tool_calls"); calls && calls->is_array()) {
    for (const auto& call : calls->as_array()) {
      if (const auto* o = call.if_object()) tool_call(*o, out);
    }
  }
}

void MessageEventWriter::finish(std::string& out) {
  start(out);
  close_block(out);
  json::object usage{{"output_tokens", usage_ ? usage_->completion_tokens : 0}};
  if (usage_) usage["input_tokens"] = usage_->prompt_tokens;
  append_event("message_delta",
               json::object{{"type", "message_delta"},
                            {"delta", json::object{{"stop_reason", stop_reason_of(finish_reason_)},
                                                   {"stop_sequence", nullptr}}},
                            {"usage", std::move(usage)}},
               out);
  append_event("message_stop", json::object{{"type", "message_stop"}}, out);
}

std::string MessageEventWriter::error_event(const Error& error) {
  return "event: error\ndata: " + anthropic_error_json(error) + "\n\n";
}

}  // namespace bc::providers
