// The answer the mock gives, independent of the wire format that carries it. The text is
// deterministic so tests can tell which model and key served a request: "Hello", " from",
// " <model>", " via", " <key name>", "." repeated and cut to the requested number of pieces.
// A tool-call answer calls the request's first tool with fixed arguments instead.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace bc::mockllm {

// A call of the request's first tool. Its arguments are always kToolArguments; the answer's
// pieces are then the fragments a format streams them in (their concatenation is the JSON).
struct ToolCall {
  std::string name;
};

inline constexpr std::string_view kToolArguments = R"({"city":"Paris"})";

// kToolArguments cut in three fragments, two of them inside a string.
std::vector<std::string> tool_argument_fragments();

struct Answer {
  std::string id;
  std::int64_t created = 0;  // Unix seconds
  std::string model;
  std::vector<std::string> pieces;  // one per content chunk; one token each
  std::int64_t prompt_tokens = 0;
  bool include_usage = false;  // OpenAI stream_options.include_usage
  std::optional<ToolCall> tool_call;
  std::string echo;  // ChatCall::echo

  std::int64_t completion_tokens() const { return static_cast<std::int64_t>(pieces.size()); }
  std::int64_t total_tokens() const { return prompt_tokens + completion_tokens(); }
  // The concatenation of the pieces: the non-stream content (the arguments of a tool call).
  std::string text() const;
};

std::vector<std::string> answer_pieces(std::string_view model, std::string_view key_name,
                                       int count);

}  // namespace bc::mockllm
