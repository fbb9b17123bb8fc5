// The chat endpoints the mock serves: one row per wire format, in formats.cpp.
#pragma once

#include <span>
#include <string_view>

#include "mockllm/wire_format.h"

namespace bc::mockllm {

struct Route {
  std::string_view path;  // exact match on the target without its query string
  const WireFormat* format;
};

std::span<const Route> chat_routes();

// The format serving `path`, or nullptr.
const WireFormat* find_format(std::string_view path);

}  // namespace bc::mockllm
