// Small helpers every handler uses to answer: JSON bodies and OpenAI-shaped errors with the
// right status (and Retry-After on 429/503 when the error knows how long to wait).
#pragma once

#include <chrono>
#include <string>

#include "core/error.h"
#include "net/http_server.h"

namespace bc::api {

using boost::asio::awaitable;

awaitable<void> send_json(net::ResponseWriter& writer, int status, std::string body,
                          const Headers& extra = {});
// The error is taken by value, so a plain function may return this awaitable for its caller
// to await after the function's own locals are gone.
awaitable<void> send_error(net::ResponseWriter& writer, Error error, Headers extra = {});
// The same in Anthropic's shape ({"type":"error","error":{"type","message"}}), for
// /v1/messages.
awaitable<void> send_anthropic_error(net::ResponseWriter& writer, Error error, Headers extra = {});
// The SSE / text event that ends a stream with an error (after the head was sent).
std::string sse_error_event(const Error& error);

// A UTC time (default: now) as ISO 8601 with seconds, e.g. 2026-11-27T15:36:25Z.
std::string utc_timestamp(
    std::chrono::system_clock::time_point at = std::chrono::system_clock::now());

}  // namespace bc::api
