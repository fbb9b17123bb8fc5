// Pieces shared by the adapters of wire formats that are not OpenAI's (Anthropic, Gemini,
// Ollama native): reading the caller's OpenAI request (content parts, tool calls, tool
// choice, limits; native_request.cpp) and writing OpenAI answers (chat.completion,
// chat.completion.chunk) and framing their streams (native.cpp).
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <boost/json/value.hpp>

#include "core/chat.h"
#include "core/error.h"
#include "core/result.h"
#include "providers/json_read.h"
#include "providers/provider.h"
#include "providers/sse.h"

namespace bc::providers {

// ---- reading the caller's request ----

// The model id sent upstream: upstream_model, else the configured name.
std::string upstream_model(const ProviderOptions& options);
// The caller's temperature, else the model's default_temperature, else none.
std::optional<double> sampling_temperature(const boost::json::object& body,
                                           const ProviderOptions& options);
// max_completion_tokens, else max_tokens; none when absent or not a positive integer.
std::optional<std::int64_t> max_output_tokens(const boost::json::object& body);
// `stop` as a list (a string becomes one element; empty strings are dropped).
std::vector<std::string> stop_sequences(const boost::json::object& body);
// An error when the caller asked for several choices (`n` > 1): these formats return one.
Status single_choice(const boost::json::object& body, std::string_view provider);
// A number as int64 (0 when absent or not a number), bounded to ±10^15.
std::int64_t json_int(const boost::json::value* v);

// One part of a message's content. An image is either inline (media_type + base64 data,
// from a data: URL) or a link (url).
struct ContentPart {
  enum class Kind { kText, kImage };
  Kind kind = Kind::kText;
  std::string text;
  std::string media_type;
  std::string data;
  std::string url;
};
// A message `content` (a string, or an array of text / image_url parts; other part types are
// skipped) as parts. Null or absent content gives no parts.
std::vector<ContentPart> content_parts(const boost::json::value* content);
// The text parts of a content, joined.
std::string message_text(const boost::json::value* content);

// What a native format writes for each turn of the caller's conversation (walk_messages()).
struct TurnWriters {
  std::function<void(const boost::json::object& message)> user;
  std::function<Status(const boost::json::object& message)> assistant;
  // A tool result: messages[index], with the conversation to find its call in.
  std::function<void(const boost::json::array& messages, std::size_t index)> tool;
};
// Walks the caller's `messages` in order: system and developer texts are joined with a blank
// line into the system prompt it returns (empty ones skipped; non-objects are skipped too),
// user, assistant and tool turns go to `write`. An error (invalid_request) when `n` asks for
// several choices, `messages` is not an array or a role is unknown (naming `provider`), or
// the error `write.assistant` returns.
Result<std::string> walk_messages(const boost::json::object& body, std::string_view provider,
                                  const TurnWriters& write);

// A tool call's `arguments` (an OpenAI JSON string, or already an object) as the object the
// native formats want; "" is {}. An error (invalid_request) when it is not a JSON object.
Result<boost::json::object> tool_arguments(const boost::json::value* arguments,
                                           std::string_view tool_name);
// The function name of the tool call `id`, from the closest assistant message before
// messages[before] that made it; empty when none did.
std::string tool_name_for(const boost::json::array& messages, std::size_t before,
                          std::string_view id);

// The caller's function tools (other tool types are dropped).
struct FunctionTool {
  std::string name;
  std::string description;
  boost::json::value parameters;  // the JSON Schema; null when the caller gave none
};
std::vector<FunctionTool> function_tools(const boost::json::object& body);

struct ToolChoice {
  enum class Mode { kUnset, kAuto, kNone, kRequired, kNamed };
  Mode mode = Mode::kUnset;
  std::string name;  // for kNamed
};
ToolChoice tool_choice(const boost::json::object& body);

// ---- writing OpenAI answers ----

Usage make_usage(std::int64_t prompt, std::int64_t completion,
                 std::optional<std::int64_t> total = std::nullopt);

// One OpenAI tool call, arguments as a JSON string.
struct ToolCall {
  std::string id;
  std::string name;
  std::string arguments;
};

// A complete answer, turned into an OpenAI chat.completion by completion_of().
struct Answer {
  std::string id;
  std::string model;
  std::int64_t created = 0;
  std::string content;
  std::string reasoning;  // sent as the `reasoning_content` extension field when non-empty
  std::vector<ToolCall> tool_calls;
  std::string finish_reason = "stop";
  Usage usage;
};
// `content` is null when the answer is only tool calls, like OpenAI's.
ChatResponse completion_of(Answer answer);

// Writes chat.completion.chunk objects for one streamed answer. The role chunk goes first,
// written before whatever is emitted first.
class ChunkWriter {
 public:
  void set_identity(std::string id, std::string model, std::int64_t created);
  bool has_identity() const { return identified_; }

  void role(std::vector<ChatDelta>& out);
  void content(std::string_view text, std::vector<ChatDelta>& out);
  void reasoning(std::string_view text, std::vector<ChatDelta>& out);
  // The first delta of tool call `index` (0-based among the answer's tool calls): id, type,
  // name and the first arguments (possibly the whole JSON, possibly "").
  void tool_call(int index, std::string_view id, std::string_view name, std::string_view arguments,
                 std::vector<ChatDelta>& out);
  // A further fragment of the arguments of tool call `index`.
  void tool_arguments(int index, std::string_view fragment, std::vector<ChatDelta>& out);
  void finish(std::string_view reason, std::vector<ChatDelta>& out);
  // The usage chunk: `choices` empty, as OpenAI sends with include_usage.
  void usage(const Usage& usage, std::vector<ChatDelta>& out);

 private:
  boost::json::object chunk() const;
  void emit(boost::json::object delta, std::vector<ChatDelta>& out, std::string text = {});

  std::string id_;
  std::string model_;
  std::int64_t created_ = 0;
  bool identified_ = false;
  bool role_sent_ = false;
};

// An upstream answer that cannot be decoded, tagged "upstream:<provider>" (retryable kUpstream).
Error provider_error(std::string_view provider, std::string message);

// ---- decoding streams ----

// Splits NDJSON into lines (LF, one trailing CR dropped), each returned as an SseEvent with
// only `data` set; blank lines are skipped. Bounded like SseParser.
class LineParser {
 public:
  explicit LineParser(std::size_t max_line_bytes = SseParser::kDefaultMaxEventBytes)
      : max_line_bytes_(max_line_bytes) {}
  Status feed(std::string_view bytes, std::vector<SseEvent>& out);
  // A last line without LF is still returned.
  Status finish(std::vector<SseEvent>& out);

 private:
  std::size_t max_line_bytes_;
  std::string partial_;
  bool failed_ = false;
};

// The common part of the native stream decoders: framing (SSE or NDJSON), one payload at a
// time, a sticky failure, nothing after the end marker, and a payload cut off by the end of
// the body reported as the cut stream it is.
class FramedStreamDecoder : public StreamDecoder {
 public:
  enum class Framing { kSse, kNdjson };
  FramedStreamDecoder(std::string_view provider, Framing framing)
      : provider_(provider), framing_(framing) {}

  Status feed(std::string_view bytes, std::vector<ChatDelta>& out) final;
  Status finish(std::vector<ChatDelta>& out) final;
  bool done() const final { return done_; }

 protected:
  // Decodes one SSE event or NDJSON line; sets done_ at the end marker.
  virtual Status frame(SseEvent& frame, std::vector<ChatDelta>& out) = 0;
  // The body ended before done_: an error by default (`end_marker` names what was missing);
  // a format that ends by closing the connection completes the stream here.
  virtual Status end(std::vector<ChatDelta>& out);
  virtual std::string_view end_marker() const = 0;

  // A payload that is not a JSON object: an error with code kMalformedPayload.
  Error malformed(std::string message) const;
  // Parses a payload as a JSON object, or the malformed() error.
  Result<boost::json::object> parse_object(std::string_view data) const;

  std::string_view provider_;
  bool done_ = false;

 private:
  Status fail(Error error);

  Framing framing_;
  SseParser sse_;
  LineParser lines_;
  std::vector<SseEvent> frames_;
  bool failed_ = false;
  Error error_;
};

inline constexpr std::string_view kMalformedPayload = "invalid_upstream_chunk";

}  // namespace bc::providers
