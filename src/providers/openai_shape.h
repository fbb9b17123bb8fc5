// What the gateway writes to /v1 clients, made exactly OpenAI's shape (the schemas of OpenAI's
// published OpenAPI description): the members a translated answer lacks, and the usage of a
// stream as the caller's `stream_options.include_usage` asked for it, whatever the upstream
// sent.
//
// Why the stream's usage: the gateway asks every upstream for usage (it counts tokens for limits
// and the ledger), and native formats report it on their own. OpenAI sends a `usage` member only to
// a caller that asked: then `"usage": null` on every chunk and a last chunk with the usage and
// `"choices": []`. A caller that did not ask gets neither, and many clients read
// `choices[0]` of every chunk.
#pragma once

#include <string>
#include <string_view>

#include <boost/json/object.hpp>

namespace bc::providers {

// Adds what OpenAI's CreateChatCompletionResponse requires and an answer translated from
// another format may lack: `logprobs` on every choice and `refusal` on every message, null.
void complete_openai_choices(boost::json::object& completion);

// Appends the SSE events (`data: <chunk>` LF LF) that stand for the chunk `chunk` (one JSON
// object, no line break) to `out`:
// - `include_usage` false: the chunk without its top-level `usage`; nothing for a chunk that
//   only reported usage (its `choices` empty).
// - `include_usage` true: the chunk with `"usage": null` when it had none; a chunk that
//   reports usage beside choices becomes that chunk with `"usage": null`, then a chunk of
//   its own with the usage and `"choices": []`.
// The usual chunk is copied with its bytes unchanged, or with `,"usage":null` cut from or
// added to its end; anything else is rewritten through its tree. Text that is not a JSON
// object is appended as it is.
void append_chunk_event(std::string_view chunk, bool include_usage, std::string& out);

// The same for `events`, one or more whole events `data: <chunk>` LF LF back to back (a run
// of chunks lent by a decoder). Text not framed so is appended as it is.
void append_chunk_events(std::string_view events, bool include_usage, std::string& out);

}  // namespace bc::providers
