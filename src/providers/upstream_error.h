// Reading and classifying upstream errors, shared by every adapter. Classification follows
// the providers' error formats: what the error means for the caller (kind, code,
// status), whether another key or model may succeed (retryable), and what happens to the key
// (cool down, disable). Pure: time comes only from the response's own headers.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

#include <boost/json/fwd.hpp>

#include "core/error.h"
#include "core/http.h"

namespace bc::providers {

// The error an upstream reported, in any of the shapes upstreams use:
// {"error":{"message","type","code"}} (OpenAI and most compatibles, code a string or the
// HTTP status as a number), {"object":"error","message","type","code"} (older vLLM),
// {"code","message"} (SiliconFlow, native DashScope).
struct UpstreamError {
  bool found = false;   // the body held a recognizable error
  std::string message;  // already scrubbed of secret-looking tokens and bounded in length
  std::string type;
  std::string code;  // the code as text ("1302", "insufficient_quota", "429")
};

// Finds the error in a parsed JSON body; found == false when there is none.
UpstreamError read_upstream_error(const boost::json::object& body);
// Parses `body` as JSON and reads its error; a body that is not JSON becomes the message.
UpstreamError read_upstream_error(std::string_view body);

// Cooldowns for rate limits that name no Retry-After.
inline constexpr std::chrono::milliseconds kDefaultRateLimitCooldown{20'000};
inline constexpr std::chrono::milliseconds kMaxRetryAfter{3'600'000};
// A disabled key for a billing problem may be re-probed after this long (sent as `cooldown`
// beside KeyAction::kDisable; an invalid credential gets no re-probe hint, cooldown 0).
inline constexpr std::chrono::milliseconds kBillingReprobe{3'600'000};

// Retry-After (delta seconds, possibly fractional) or retry-after-ms; an HTTP date or a
// malformed value is unknown. Capped at kMaxRetryAfter.
std::optional<std::chrono::milliseconds> retry_after(const Headers& headers);

// Seconds since midnight UTC from an HTTP Date header (IMF-fixdate), for cooldowns that end
// at a provider's midnight without reading the local clock.
std::optional<int> utc_seconds_of_day(const Headers& headers);

// Replaces tokens that look like secrets (long runs of key characters with letters and
// digits) by their masked form, and bounds the length. Upstreams sometimes echo the key.
std::string scrub_message(std::string_view text);

// The default classification by HTTP status and the OpenAI-style error type/code. A status
// of 200 (an error object in a successful body or inside a stream) is resolved from the
// error's own numeric code or its type. `provider` names the source ("upstream:<provider>").
Error classify_http(std::string_view provider, int status, const Headers& headers,
                    const UpstreamError& upstream);
Error classify_http(std::string_view provider, int status, const Headers& headers,
                    std::string_view body);

}  // namespace bc::providers
