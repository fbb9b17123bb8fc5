// The chat endpoints the mock serves: one row per wire format, in formats.cpp.
#pragma once

#include <span>
#include <string_view>

#include "mockllm/wire_format.h"

namespace bc::mockllm {

struct Route {
  // Matched against the target without its query string. One '*' may stand for a non-empty
  // path segment part without '/' (Gemini's model, Baidu legacy's endpoint name).
  std::string_view path;
  const WireFormat* format;
};

std::span<const Route> chat_routes();

// Whether `path` matches the route pattern `pattern`.
bool route_matches(std::string_view pattern, std::string_view path);

// The format serving `path`, or nullptr.
const WireFormat* find_format(std::string_view path);

}  // namespace bc::mockllm
