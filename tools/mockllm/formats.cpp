#include "mockllm/formats.h"

#include "mockllm/anthropic_format.h"
#include "mockllm/baidu_legacy_format.h"
#include "mockllm/baidu_v2_format.h"
#include "mockllm/gemini_format.h"
#include "mockllm/ollama_format.h"
#include "mockllm/openai_format.h"
#include "mockllm/spark_format.h"
#include "mockllm/zhipu_format.h"

namespace bc::mockllm {

std::span<const Route> chat_routes() {
  // A plain array: a new format is one more line, with no count to change.
  static const Route routes[] = {
      {"/v1/chat/completions", &openai_format()},
      {"/api/paas/v4/chat/completions", &zhipu_format()},
      {"/v1/messages", &anthropic_format()},
      {"/v1/messages/count_tokens", &anthropic_count_tokens_format()},
      {"/v1beta/models/*:generateContent", &gemini_format()},
      {"/v1beta/models/*:streamGenerateContent", &gemini_format()},
      {"/api/chat", &ollama_format()},
      {"/v2/chat/completions", &baidu_v2_format()},
      {"/rpc/2.0/ai_custom/v1/wenxinworkshop/chat/*", &baidu_legacy_format()},
      // Spark's own path is /v1/chat/completions, taken by OpenAI here: point the base URL
      // at <mock>/spark/v1.
      {"/spark/v1/chat/completions", &spark_format()},
  };
  return routes;
}

bool route_matches(std::string_view pattern, std::string_view path) {
  const auto star = pattern.find('*');
  if (star == std::string_view::npos) return pattern == path;
  const auto prefix = pattern.substr(0, star);
  const auto suffix = pattern.substr(star + 1);
  if (path.size() <= prefix.size() + suffix.size()) return false;
  if (!path.starts_with(prefix) || !path.ends_with(suffix)) return false;
  const auto middle = path.substr(prefix.size(), path.size() - prefix.size() - suffix.size());
  return middle.find('/') == std::string_view::npos;
}

const WireFormat* find_format(std::string_view path) {
  for (const auto& route : chat_routes()) {
    if (route_matches(route.path, path)) return route.format;
  }
  return nullptr;
}

}  // namespace bc::mockllm
