// Anthropic's Messages API as a dialect callers speak (POST /v1/messages), translated to and
// from the gateway's OpenAI vocabulary so that every provider serves it: the request
// (anthropic_messages.cpp), the answer and its stream of events (anthropic_message_out.cpp).
// Pure: no I/O, unit-tested and fuzzed directly.
// The format: https://docs.anthropic.com/en/api/messages and
// https://docs.anthropic.com/en/docs/build-with-claude/streaming
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <boost/json/object.hpp>

#include "core/chat.h"
#include "core/error.h"
#include "core/result.h"
#include "providers/relay_delta.h"

namespace bc::providers {

// A Messages request read into the OpenAI chat request the gateway forwards: `system`
// (string or text blocks) first, then every turn; text and image blocks as content parts,
// `tool_use` as tool calls, `tool_result` as tool messages; tools, tool_choice,
// stop_sequences, max_tokens, temperature, top_p, top_k, metadata.user_id as `user`.
// `thinking` blocks of earlier assistant turns are dropped (no OpenAI-shaped upstream takes
// them back); `cache_control` is ignored. The model and stream come from the request.
// Errors (invalid_request, naming the field) for what Anthropic would refuse or the gateway
// cannot translate: not JSON, no `model`, `max_tokens` missing or not a positive integer,
// `messages` empty or not an array, an unknown role or block type, a server tool.
// A count_tokens request is the same without max_tokens (and never streamed). The caller's
// body is kept as it came in ChatRequest::messages, for an upstream that speaks this API.
enum class MessagesCall { kCreate, kCountTokens };
// `lenient`: for a model whose upstream speaks this API and judges the request itself
// (passthrough), block types and server tools the translation does not know are left out of
// it instead of refused (the translation then only feeds the gateway's estimates).
Result<ChatRequest> parse_messages_request(std::string_view json,
                                           MessagesCall call = MessagesCall::kCreate,
                                           bool lenient = false);

// The request's input tokens as the gateway estimates them for /v1/messages/count_tokens when
// the upstream cannot count them: the bytes of every text the model reads (system, message
// texts, tool results, tool calls' input, tool definitions) over four, rounded up, at least 1.
std::int64_t estimate_input_tokens(const ChatRequest& request);

// Anthropic's error type for a gateway error ("invalid_request_error", "rate_limit_error", …).
std::string_view anthropic_error_type(const Error& error);
// {"type":"error","error":{"type":…,"message":…}}
std::string anthropic_error_json(const Error& error);

// Anthropic's stop_reason for an OpenAI finish_reason.
std::string_view stop_reason_of(std::string_view finish_reason);

// An OpenAI chat.completion as an Anthropic Message: id and model as given, content blocks
// (text, then tool_use), stop_reason, usage. An error (upstream) when a tool call's
// arguments are not a JSON object.
Result<std::string> message_of(const ChatResponse& response, std::string_view id,
                               std::string_view model);

// Writes one streamed answer as Anthropic's events: message_start, then per block
// content_block_start, content_block_delta (text_delta, input_json_delta) and
// content_block_stop, and message_delta (stop_reason, usage) and message_stop at the end.
// Reads the OpenAI chunks the forwarder relays. Not thread-safe; one per stream.
class MessageEventWriter {
 public:
  MessageEventWriter(std::string id, std::string model)
      : id_(std::move(id)), model_(std::move(model)) {}

  // message_start, when it has not gone yet.
  void start(std::string& out);
  // The events one chunk (or a merged run of content chunks) brings.
  void add(const RelayDelta& delta, std::string& out);
  // Anthropic's heartbeat: `event: ping`.
  void ping(std::string& out);
  // Closes the open block, then message_delta and message_stop.
  void finish(std::string& out);
  // An error ends the stream: `event: error` with the error body.
  static std::string error_event(const Error& error);

 private:
  void text(std::string_view text, std::string& out);
  void tool_call(const boost::json::object& call, std::string& out);
  void open_block(const boost::json::object& block, std::string& out);
  void close_block(std::string& out);

  std::string id_;
  std::string model_;
  bool started_ = false;
  bool block_open_ = false;
  bool block_is_text_ = false;
  int blocks_ = 0;  // blocks opened so far; the open one is blocks_ - 1
  // The block of each OpenAI tool call index seen so far.
  std::vector<std::pair<std::int64_t, int>> tool_blocks_;
  std::string finish_reason_;
  std::optional<Usage> usage_;
};

}  // namespace bc::providers
