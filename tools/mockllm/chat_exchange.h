// One chat (or embeddings) request answered by the mock: the key's fault plan decides latency,
// errors, cuts and pacing; the wire format decides the bytes.
#pragma once

#include <cstdint>

#include "core/clock.h"
#include "mockllm/connection.h"
#include "mockllm/embed_formats.h"
#include "mockllm/stats.h"
#include "mockllm/wire_format.h"

namespace bc::mockllm {

// State shared by every connection of one mock server (single-threaded).
struct MockState {
  explicit MockState(TimePoint origin) : stats(origin) {}
  Stats stats;
  std::uint64_t next_seq = 1;
};

// Answers `request` on `connection` in `format`. Returns whether the connection may carry
// another request (keep-alive asked, the client still there, the answer not cut on purpose).
awaitable<bool> serve_chat(Connection& connection, const WireFormat& format, const Request& request,
                           MockState& state);

// Answers an embeddings request in `format`: the key's fault plan (latency, error status,
// fail_first / fail_every, malformed, cut_after) applies as to a non-stream chat.
awaitable<bool> serve_embeddings(Connection& connection, const EmbedFormat& format,
                                 const Request& request, MockState& state);

// A whole JSON response with the usual headers.
http::response<http::string_body> json_response(const Request& request, http::status status,
                                                std::string body);

}  // namespace bc::mockllm
