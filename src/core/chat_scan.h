// Reads a chat request's body in one hand-written pass instead of building its JSON tree: it
// validates the whole text, checks what ChatRequest::parse checks (a non-empty `messages` array
// of objects with a string `role`; `model`, `stream` and `tools` of the right types), reads the
// few fields the gateway needs, and notes where each top-level member's value lies so that an
// OpenAI-compatible upstream can be sent the caller's own bytes with only `model` (and the
// stream options) rewritten.
//
// Why: a ~300-byte request parsed into a tree (~6,000 instructions, an arena of 1 KB held for
// as long as a stream lasts) and serialized again for the upstream (~4,000) was a tenth of a
// proxied call's CPU, and the tree was needed only to rewrite one member.
//
// The scan accepts only what it can decide exactly and answers "not sure" (nullopt) for the
// rest: invalid JSON or a wrong shape (ChatRequest::parse then reports the error),
// `\u` escapes, a top-level key with escapes, a top-level member or a message's `role` or
// `content` that appears twice (the tree keeps only one), token limits that are not plain
// integers, nesting deeper than 12. The tree path decides those. A unit test and the
// chat_request fuzz target hold the scan to the tree's answers.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace bc {

struct RequestScan {
  // One top-level member: offsets into the scanned text of its key (between the quotes, no
  // escapes) and of its value's JSON text.
  struct Member {
    std::uint32_t key_begin = 0;
    std::uint32_t key_size = 0;
    std::uint32_t value_begin = 0;
    std::uint32_t value_size = 0;
  };
  std::vector<Member> members;  // in the text's order
  std::string model;            // empty when absent or null
  bool stream = false;          // `stream` is true
  bool has_tools = false;       // `tools` is a non-empty array
  // The summed length of the messages' string `content` (decoded UTF-8 bytes).
  std::int64_t content_chars = 0;
  std::optional<std::int64_t> max_tokens;             // when a plain integer
  std::optional<std::int64_t> max_completion_tokens;  // when a plain integer
};

// What the scan read from `text`, or nullopt when it is not sure (see above).
std::optional<RequestScan> scan_chat_request(std::string_view text);

}  // namespace bc
