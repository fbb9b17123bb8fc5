// Every provider of the gateway's registry has a format of its own in the mock upstream: the
// request its adapter sends, streamed or not, lands on a chat route whose format carries the
// provider's name. A new registry row without a mock format fails here, naming the provider
// and the path to add to tools/mockllm/formats.cpp.
#include <gtest/gtest.h>

#include <string>
#include <string_view>

#include "core/chat.h"
#include "mockllm/formats.h"
#include "providers/registry.h"

namespace bc::mockllm {
namespace {

// The path and query of an absolute URL ("https://host:port/a/b?c" -> "/a/b").
std::string_view path_of(std::string_view url) {
  const auto scheme = url.find("://");
  if (scheme == std::string_view::npos) return {};
  const auto slash = url.find('/', scheme + 3);
  if (slash == std::string_view::npos) return "/";
  const auto path = url.substr(slash);
  return path.substr(0, path.find('?'));
}

// Where the mock serves a provider: under /<provider name> when another provider's format
// holds its path (Spark's /v1/chat/completions is OpenAI's), else at the path itself.
const WireFormat* mock_format_for(std::string_view provider, std::string_view path) {
  if (const WireFormat* format = find_format("/" + std::string(provider) + std::string(path))) {
    return format;
  }
  return find_format(path);
}

TEST(RegistryRoutes, EveryProviderReachesAMockFormat) {
  for (const auto& entry : providers::provider_table()) {
    if (!entry.needs_keys) continue;  // the in-process mock sends nothing over the wire
    SCOPED_TRACE(std::string(entry.name));
    providers::ProviderOptions options;
    options.model_name = "m1";
    options.upstream_model = "upstream-m1";
    auto provider = providers::make_provider(entry.name, options);
    ASSERT_TRUE(provider.ok()) << provider.error().message;
    for (const bool stream : {false, true}) {
      const std::string body = std::string(R"({"model":"m1","messages":[{"role":"user",)") +
                               R"("content":"hi"}],"stream":)" + (stream ? "true" : "false") + "}";
      auto request = ChatRequest::parse(body);
      ASSERT_TRUE(request.ok()) << request.error().message;
      providers::Credential credential{.secret = "test-key", .id = "k1"};
      credential.now_unix_ms = 1700000000000;
      auto upstream = (*provider)->encode(*request, credential);
      ASSERT_TRUE(upstream.ok()) << upstream.error().message;
      const std::string_view path = path_of(upstream->url);
      const WireFormat* format = mock_format_for(entry.name, path);
      EXPECT_EQ(format != nullptr ? format->name() : "(none)", entry.name)
          << "provider '" << entry.name << "' sends " << (stream ? "streamed" : "whole")
          << " requests to " << path
          << ", where the mock upstream serves no format of that name: add one to chat_routes() "
             "in tools/mockllm/formats.cpp (see docs/adding-a-provider.md)";
    }
  }
}

TEST(RegistryRoutes, PathOfDropsSchemeHostAndQuery) {
  EXPECT_EQ(path_of("https://h.example:8443/v1/chat/completions?alt=sse"), "/v1/chat/completions");
  EXPECT_EQ(path_of("http://127.0.0.1"), "/");
  EXPECT_EQ(path_of("no-scheme"), "");
}

}  // namespace
}  // namespace bc::mockllm
