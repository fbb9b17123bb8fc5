// Gateway::create's checks of what the config loader cannot know: which providers embed, and
// that embedding models stay out of the selection of chats that name no model.
#include "gateway/gateway.h"

#include <gtest/gtest.h>

#include "config/loader.h"

namespace bc::gateway {
namespace {

Result<std::unique_ptr<Gateway>> create(std::string_view yaml) {
  auto cfg = std::make_shared<const config::Config>(config::load_config_text(yaml, "test.yaml"));
  return Gateway::create(std::move(cfg), nullptr);
}

TEST(Gateway, RefusesEmbeddingsOnAProviderThatCannotEmbed) {
  for (std::string_view provider : {"spark", "baidu", "anthropic"}) {
    const std::string yaml =
        "models:\n  chat: {provider: mock}\n  emb:\n    provider: " + std::string(provider) +
        "\n    embeddings: true\n    api_keys: [k1]\n";
    auto gw = create(yaml);
    ASSERT_FALSE(gw) << provider;
    EXPECT_EQ(gw.error().message,
              "test.yaml:3: models.emb.embeddings: provider '" + std::string(provider) +
                  "' cannot embed (embedding providers: openai and every OpenAI-compatible "
                  "upstream, zhipu, gemini, ollama, mock)");
  }
  for (std::string_view provider : {"openai", "zhipu", "gemini", "ollama", "mock"}) {
    const std::string yaml = "models:\n  emb:\n    provider: " + std::string(provider) +
                             "\n    embeddings: true\n    api_keys: [k1]\n";
    EXPECT_TRUE(create(yaml)) << provider;
  }
}

TEST(Gateway, EmbeddingModelsAreServedOnlyWhenNamed) {
  auto gw = create(
      "models:\n  chat: {provider: mock}\n  emb: {provider: mock, embeddings: true, "
      "model_weight: 5}\n");
  ASSERT_TRUE(gw);
  const auto& budgets = (*gw)->budgets();
  ASSERT_EQ(budgets.size(), 2u);
  EXPECT_EQ(budgets[0].weight, 1);
  EXPECT_EQ(budgets[1].weight, 0);  // weight 0: only for requests that name it
  EXPECT_EQ((*gw)->pool().model(1).weight, 0);
}

}  // namespace
}  // namespace bc::gateway
