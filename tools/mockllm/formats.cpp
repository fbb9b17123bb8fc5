#include "mockllm/formats.h"

#include <array>

#include "mockllm/openai_format.h"
#include "mockllm/zhipu_format.h"

namespace bc::mockllm {

std::span<const Route> chat_routes() {
  static const std::array<Route, 2> routes = {{
      {"/v1/chat/completions", &openai_format()},
      {"/api/paas/v4/chat/completions", &zhipu_format()},
  }};
  return routes;
}

const WireFormat* find_format(std::string_view path) {
  for (const auto& route : chat_routes()) {
    if (route.path == path) return route.format;
  }
  return nullptr;
}

}  // namespace bc::mockllm
