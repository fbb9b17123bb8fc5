// The normalized vocabulary of one chat call. OpenAI's JSON is the lingua franca: a request
// keeps the caller's JSON object instead of copying it field by field, so adapters for
// OpenAI-compatible upstreams change only what they must.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include <boost/json/object.hpp>

#include "core/result.h"

namespace bc {

struct Usage {
  std::int64_t prompt_tokens = 0;
  std::int64_t completion_tokens = 0;
  std::int64_t total_tokens = 0;
};

struct ChatRequest {
  // The caller's request as an OpenAI chat.completions body (messages, tools, temperature …).
  boost::json::object body;
  // The model the caller named; empty when the gateway may pick any enabled model.
  std::string model;
  bool stream = false;

  bool has_tools() const;
  // Parses and validates an OpenAI-shaped chat request (both dialects accept this shape).
  // `messages` must be a non-empty array of objects with a string `role`.
  static Result<ChatRequest> parse(std::string_view json);
};

struct ChatResponse {
  // An OpenAI chat.completion object. Empty when `raw_json` is set and the adapter did not
  // need the tree (an OpenAI-compatible answer relayed unchanged): completion_object() then
  // parses it from `raw_json`.
  boost::json::object completion;
  Usage usage;
  // The chat.completion exactly as an OpenAI-compatible upstream sent it, when the adapter
  // changed nothing: relayed as is, it is never parsed into a tree or serialized again.
  // Empty otherwise.
  std::string raw_json;

  // The chat.completion as a tree, whichever form holds it (an empty object when neither
  // does, or when `raw_json` is not a JSON object).
  boost::json::object completion_object() const;
  // choices[0].message.content, or "" when absent.
  std::string text() const;
};

// One piece of a streamed answer, already in OpenAI's chunk shape.
struct ChatDelta {
  // One serialized chat.completion.chunk, relayed to /v1 clients as `data: <chunk_json>`.
  std::string chunk_json;
  // The content text this chunk carries (what /llm/chat/stream sends).
  std::string text;
  // Set on the chunk that ends a choice ("stop", "length", "tool_calls", ...).
  std::string finish_reason;
  // Set on the chunk that reports token usage.
  std::optional<Usage> usage;
};

}  // namespace bc
