// The normalized vocabulary of one chat call. OpenAI's JSON is the lingua franca: a request
// keeps the caller's JSON (its text, or its object) instead of copying it field by field, so
// adapters for OpenAI-compatible upstreams change only what they must.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include <boost/json/object.hpp>

#include "core/chat_scan.h"
#include "core/result.h"

namespace bc {

struct Usage {
  std::int64_t prompt_tokens = 0;
  std::int64_t completion_tokens = 0;
  std::int64_t total_tokens = 0;
};

class ChatRequest {
 public:
  // The model the caller named; empty when the gateway may pick any enabled model.
  std::string model;
  bool stream = false;

  // A request that came in through Anthropic's Messages API (POST /v1/messages and its
  // count_tokens): the caller's own body and headers. An adapter whose upstream speaks that
  // API itself sends these on (passthrough) instead of translating body() back; every other
  // adapter serves body(), the request's translation. Set once by the API, read-only after.
  struct Messages {
    boost::json::object body;
    bool count_tokens = false;  // POST /v1/messages/count_tokens
    std::string version;        // the caller's anthropic-version header; empty: none sent
    std::string beta;           // the caller's anthropic-beta header; empty: none sent
  };
  std::shared_ptr<Messages> messages;  // null: not a Messages API request

  ChatRequest() = default;
  // A request built from a tree (tests, adapters' helpers); model and stream as given.
  explicit ChatRequest(boost::json::object body) : body_(std::in_place, std::move(body)) {}

  // Parses and validates an OpenAI-shaped chat request (both dialects accept this shape).
  // `messages` must be a non-empty array of objects with a string `role`.
  static Result<ChatRequest> parse(std::string_view json);
  // The same, keeping `json` itself (moved in, not copied) when the scan reads it.
  static Result<ChatRequest> parse_owned(std::string json);
  // The same through a JSON tree always: what parse() does with whatever its scan is not sure
  // of, and the reference the tests and the fuzz target hold the scan to.
  static Result<ChatRequest> parse_tree(std::string_view json);

  // The caller's request as an OpenAI chat.completions body (messages, tools, temperature …),
  // as a tree. A request that was scanned (see raw()) is parsed into it on first use.
  const boost::json::object& body() const;
  // The body to change. The tree is the request from then on: raw() is null afterwards, so no
  // adapter relays bytes that no longer say what the request says.
  boost::json::object& mutable_body();

  // The caller's own body text and where its top-level members lie, when the hand-written
  // scan read it (the usual request) and nothing changed it since; null otherwise. An adapter
  // for an OpenAI-compatible upstream copies the members' values from it as they are.
  struct Raw {
    std::string text;
    RequestScan scan;
    std::string_view key(const RequestScan::Member& m) const {
      return std::string_view(text).substr(m.key_begin, m.key_size);
    }
    std::string_view value(const RequestScan::Member& m) const {
      return std::string_view(text).substr(m.value_begin, m.value_size);
    }
  };
  const Raw* raw() const { return raw_ ? &*raw_ : nullptr; }

  // `tools` is a non-empty array.
  bool has_tools() const;
  // The summed length of the messages' string contents, in bytes.
  std::int64_t content_chars() const;
  // The answer's token limit the caller set (max_completion_tokens over max_tokens, integers
  // only), or nullopt.
  std::optional<std::int64_t> max_answer_tokens() const;

 private:
  // A request read by the scan, holding `text`.
  static ChatRequest scanned(RequestScan scan, std::string text);
  // Parses raw_->text into body_ the first time the tree is needed.
  void materialize() const;

  // An optional only to be constructed in place: assigning a json::object copies it out of its
  // parser's arena.
  mutable std::optional<boost::json::object> body_{std::in_place};
  mutable bool has_tree_ = true;  // false while only raw_ holds the body
  std::optional<Raw> raw_;
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
  // For a Messages API request passed through to an upstream that speaks that API
  // (ChatRequest::messages): the upstream's Message, or its count_tokens answer, to relay
  // instead of `completion`. Empty otherwise.
  std::string message_json;

  // The chat.completion as a tree, whichever form holds it (an empty object when neither
  // does, or when `raw_json` is not a JSON object).
  boost::json::object completion_object() const;
  // choices[0].message.content, or "" when absent.
  std::string text() const;
};

// One piece of a streamed answer, already in OpenAI's chunk shape.
struct ChatDelta {
  // One serialized chat.completion.chunk, relayed to /v1 clients as `data: <chunk>`.
  std::string chunk_json;
  // The content text this chunk carries (what /llm/chat/stream sends).
  std::string text;
  // Set on the chunk that ends a choice ("stop", "length", "tool_calls", ...).
  std::string finish_reason;
  // Set on the chunk that reports token usage.
  std::optional<Usage> usage;
  // For a Messages API request passed through (ChatRequest::messages): the upstream's own
  // event, framed (`event:` and `data:` lines), relayed as is in place of a chunk. `text`,
  // `finish_reason` and `usage` still say what it carries.
  std::string event;
  // Such an event that carries nothing of the answer yet (message_start, ping, an empty text
  // block's start): held back like a role-only chunk, so that a failure after it still fails
  // over to another key.
  bool event_preamble = false;
};

}  // namespace bc
