// How one request to the mock should behave, read from the API key it carries:
// "<name>[;opt=value]...", e.g. "k1;latency=200;status=429;retry_after=3". The key name (the
// part before the first ';') is what the stats count by. Pure: no clock, no I/O.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace bc::mockllm {

struct FaultPlan {
  std::string key_name;
  // Delay before the response head (and so before the first chunk of a stream).
  std::chrono::milliseconds latency{0};
  // Stream: silence after the opening events (the role chunk) before the first content: a
  // model that thinks, or an upstream that queues.
  std::chrono::milliseconds think{0};
  // Stream, during `think`: an SSE comment (`: OPENROUTER PROCESSING`) this often, as an
  // upstream that queues may send; 0: none. SSE formats only.
  std::chrono::milliseconds think_ping{0};
  // Delay after each content chunk of a stream.
  std::chrono::milliseconds gap{5};
  // Stream: the whole body (head aside) in one write, no gap: an upstream that answers at once,
  // or one behind a buffering proxy. The client then reads many events at a time.
  bool burst = false;
  // Number of content pieces in the answer.
  int tokens = 5;
  // An HTTP error status (400..599) to answer with; 0 answers normally.
  int status = 0;
  // Seconds for a Retry-After header on an error answer.
  std::optional<int> retry_after;
  // Stream: close the connection after this many content chunks (no [DONE]).
  // Non-stream: announce the whole Content-Length, send part of the body, close.
  std::optional<int> cut_after;
  // Stream: after the end marker ([DONE]), keep the body open this long before ending it (an
  // upstream that finishes its answer but not its HTTP response).
  std::chrono::milliseconds hold_end{0};
  // Non-stream: a 200 body that is not JSON. Stream: a broken data line after the first piece.
  bool malformed = false;
  // The first `fail_first` requests of this key name fail (with `status`, or 500), later ones
  // succeed. 0: `status` applies to every request.
  int fail_first = 0;
  // Every `fail_every`-th request of this key name fails (with `status`, or 500): 2 fails
  // the 1st, 3rd, 5th ... and lets the others through. 0: off.
  int fail_every = 0;
  // Stream: an error event after the first content chunk, then the body ends without [DONE].
  bool error_in_stream = false;
  // When the request offers tools, answer with a call to the first one instead of text.
  bool tool_call = false;
  // Replaces the provider's business code in an error body (Zhipu "1113", Baidu 336502, ...).
  std::string code;
  // Send an error answer with HTTP 200 and the error body (as Baidu and Spark may do).
  bool error_200 = false;
  // The error answer's message echoes the whole key as received, as some upstreams do on a
  // wrong key ("Incorrect API key provided: <key>."). Without `status` or `fail_first`: 401.
  bool echo_key = false;
  // Baidu legacy: the lifetime in seconds of the access tokens issued for this key.
  std::int64_t token_ttl = 2'592'000;

  // The error status for the request that is number `ordinal` (0-based) of its key name since
  // the stats were last reset; 0 when it should succeed.
  int error_status(std::uint64_t ordinal) const;
};

// Never fails: unknown options and values that do not parse are ignored, numbers are clamped
// to sane ranges.
FaultPlan parse_fault_plan(std::string_view api_key);

}  // namespace bc::mockllm
