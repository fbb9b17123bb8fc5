#include "providers/registry.h"

#include <gtest/gtest.h>

namespace bc::providers {
namespace {

TEST(Registry, MakesEveryKnownProvider) {
  for (std::string_view name : provider_names()) {
    ProviderOptions o;
    o.model_name = "m";
    auto p = make_provider(name, o);
    ASSERT_TRUE(p.ok()) << name;
    EXPECT_NE(p->get(), nullptr) << name;
  }
  EXPECT_EQ(provider_names(),
            (std::vector<std::string_view>{"mock", "openai", "zhipu", "anthropic", "gemini",
                                           "ollama", "baidu", "spark"}));
}

TEST(Registry, UnknownNameListsTheKnownOnes) {
  auto p = make_provider("anthropik", {});
  ASSERT_FALSE(p.ok());
  EXPECT_EQ(p.error().message,
            "unknown provider 'anthropik' (known: mock, openai, zhipu, anthropic, gemini, ollama, "
            "baidu, spark)");
}

TEST(Registry, RejectsABaseUrlThatIsNotHttp) {
  ProviderOptions o;
  o.base_url = "ftp://example.com/v1";
  auto p = make_provider("openai", o);
  ASSERT_FALSE(p.ok());
  EXPECT_NE(p.error().message.find("ftp://example.com/v1"), std::string::npos);
  o.base_url = "http://127.0.0.1:8080/v1";
  EXPECT_TRUE(make_provider("openai", o).ok());
}

}  // namespace
}  // namespace bc::providers
