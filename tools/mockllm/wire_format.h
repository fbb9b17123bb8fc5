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

#include "core/http.h"
#include "core/result.h"
#include "mockllm/answer.h"

namespace bc::mockllm {

// A request as the server read it (the target keeps its query string).
struct IncomingRequest {
  std::string_view target;
  const Headers& headers;
  std::string_view body;
};

// What a chat request asked for.
struct ChatCall {
  std::string model;
  bool stream = false;
  bool include_usage = false;
  // A caller-chosen id the format echoes back (Zhipu's `request_id`); empty when none.
  std::string request_id;
  std::int64_t prompt_tokens = 0;
};

class WireFormat {
 public:
  virtual ~WireFormat() = default;

  virtual std::string_view name() const = 0;

  // The credential the request carries; nullopt when it has none (the server answers 401).
  // Default: `Authorization: Bearer <key>`.
  virtual std::optional<std::string> api_key(const IncomingRequest& request) const;
  // Reads the body; an error (its message is shown to the caller) becomes a 400.
  virtual Result<ChatCall> parse(const IncomingRequest& request) const = 0;
  // A fresh response id for the `seq`-th answer of the mock.
  virtual std::string new_id(std::uint64_t seq) const = 0;

  // The non-stream response body.
  virtual std::string completion(const Answer& answer) const = 0;

  // Stream events come fully framed (for SSE "data: ...\n\n") and are written one write each.
  virtual std::string_view stream_content_type() const = 0;
  // Events before the first content piece (OpenAI: the role chunk).
  virtual std::vector<std::string> stream_open(const Answer& answer) const = 0;
  virtual std::string stream_piece(const Answer& answer, std::size_t index) const = 0;
  // Events after the last piece: finish, usage, end marker.
  virtual std::vector<std::string> stream_close(const Answer& answer) const = 0;
  // An error reported inside a 200 stream, as the provider does it.
  virtual std::string stream_error(const Answer& answer) const = 0;
  // An event whose payload does not parse.
  virtual std::string stream_malformed(const Answer& answer) const = 0;

  // The provider's error body for an HTTP error status; an empty message picks the provider's
  // usual wording for that status.
  virtual std::string error_body(int status, std::string_view message) const = 0;
};

// Shared by the OpenAI-like formats: `messages` must be a non-empty array; `model` is echoed
// (default "mock"); prompt_tokens counts whitespace-separated words of string contents.
Result<ChatCall> parse_openai_like_call(std::string_view body);

// "data: <payload>\n\n"
std::string sse_event(std::string_view payload);

}  // namespace bc::mockllm
