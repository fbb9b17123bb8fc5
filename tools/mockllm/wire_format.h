// One provider's wire format as the mock speaks it: how a request names its key and model, and
// the exact bytes of answers, streams and errors. Implementations are pure (no I/O, no clock),
// one file per format, listed in formats.cpp. Adding a provider to the mock is one new file and
// one line in that table.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <boost/json/fwd.hpp>

#include "core/http.h"
#include "core/result.h"
#include "mockllm/answer.h"

namespace bc::mockllm {

// A request as the server read it (the target keeps its query string).
struct IncomingRequest {
  std::string_view target;
  const Headers& headers;
  std::string_view body;
  // Unix seconds now, for credentials that expire (Baidu legacy access tokens).
  std::int64_t now_unix = 0;
};

// What a chat request asked for.
struct ChatCall {
  std::string model;
  bool stream = false;
  bool include_usage = false;
  // A caller-chosen id the format echoes back (Zhipu's `request_id`); empty when none.
  std::string request_id;
  std::int64_t prompt_tokens = 0;
  // The name of the first tool the request offers; empty when it offers none.
  std::string first_tool;
  // JSON a format puts back into its answer, so a test sees what reached the upstream
  // (Anthropic's: the request's top-level field names); empty when none.
  std::string echo;
};

// An error answer to write.
struct ErrorSpec {
  int status = 500;  // the HTTP status the error stands for (400..599)
  // Empty: the provider's usual wording / business code for `status`.
  std::string_view message{};
  std::string_view code{};
  // Seconds; formats without a Retry-After header carry it in the body (Gemini's RetryInfo).
  std::optional<int> retry_after{};
};

class WireFormat {
 public:
  virtual ~WireFormat() = default;

  virtual std::string_view name() const = 0;

  // The credential the request carries (its fault plan); an error when it has none usable,
  // answered as a 401 in the format's shape with the error's message and code.
  // Default: `Authorization: Bearer <key>`.
  virtual Result<std::string> api_key(const IncomingRequest& request) const;
  // Reads the body; an error (its message is shown to the caller) becomes a 400.
  virtual Result<ChatCall> parse(const IncomingRequest& request) const = 0;
  // A fresh response id for the `seq`-th answer of the mock.
  virtual std::string new_id(std::uint64_t seq) const = 0;

  // The non-stream response body.
  virtual std::string completion(const Answer& answer) const = 0;

  // Stream events come fully framed (SSE "data: ...\n\n", "event: ...", NDJSON lines) and are
  // written one write each.
  virtual std::string_view stream_content_type() const = 0;
  // Events before the first content piece (OpenAI: the role chunk).
  virtual std::vector<std::string> stream_open(const Answer& answer) const = 0;
  // How many content events the stream has: one per piece, or one for a tool call the
  // provider delivers whole (Zhipu, Gemini, Ollama, ...). Each is followed by the `gap`.
  virtual std::size_t stream_piece_count(const Answer& answer) const;
  virtual std::string stream_piece(const Answer& answer, std::size_t index) const = 0;
  // Events after the last piece: finish, usage, end marker (may be none: the body just ends).
  virtual std::vector<std::string> stream_close(const Answer& answer) const = 0;
  // An error reported inside a 200 stream, as the provider does it; `code` as in ErrorSpec.
  virtual std::string stream_error(const Answer& answer, std::string_view code) const = 0;
  // An event whose payload does not parse.
  virtual std::string stream_malformed(const Answer& answer) const = 0;

  // The provider's error body.
  virtual std::string error_body(const ErrorSpec& error) const = 0;
  // The HTTP status an error is sent with: its own, except for providers that report every
  // error inside a 200 (Baidu legacy).
  virtual int error_http_status(int status) const { return status; }
  // Whether a retry hint travels as a Retry-After header (else only in the body).
  virtual bool retry_after_header() const { return true; }
};

// "data: <payload>\n\n"
std::string sse_event(std::string_view payload);
// "event: <name>\ndata: <payload>\n\n"
std::string named_sse_event(std::string_view name, std::string_view payload);
// The first half of `payload`: JSON that does not parse.
std::string_view broken_half(std::string_view payload);

// Whitespace-separated words in the text of `content`: a string, an array of parts, or an
// object whose "text" / "content" / "parts" members hold text (OpenAI, Anthropic and Gemini
// content shapes alike).
std::int64_t count_text_words(const boost::json::value& content);

// The OpenAI-style request shared by OpenAI, Zhipu, Baidu v2, Spark and Ollama: `messages` a
// non-empty array; `model` echoed (default "mock"); `stream` (default `stream_default`);
// `stream_options.include_usage`; `request_id`; prompt_tokens = words of the messages' text
// (at least 1); first_tool from `tools[0].function.name`.
Result<ChatCall> parse_openai_like_call(std::string_view body, bool stream_default = false);

// The value of query parameter `name` in `target`, percent-decoded (and '+' as space);
// nullopt when absent.
std::optional<std::string> query_param(std::string_view target, std::string_view name);

// An Error whose message is shown to the caller and whose code (when not empty) is the
// provider's business code.
Error credential_error(std::string message, std::string code = "");

}  // namespace bc::mockllm
