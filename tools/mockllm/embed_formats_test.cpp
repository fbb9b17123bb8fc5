// The mock's embedding formats: routes, request reading and answers per provider.
#include "mockllm/embed_formats.h"

#include <gtest/gtest.h>
#include <boost/json.hpp>

namespace bc::mockllm {
namespace {

namespace json = boost::json;

const Headers kNoHeaders;

Result<EmbedCall> parse(std::string_view path, std::string_view body) {
  const EmbedFormat* f = find_embed_format(path);
  EXPECT_NE(f, nullptr) << path;
  return f->parse(IncomingRequest{path, kNoHeaders, body});
}

std::vector<float> floats(const json::value& v) {
  std::vector<float> out;
  for (const auto& x : v.as_array()) out.push_back(static_cast<float>(x.to_number<double>()));
  return out;
}

TEST(EmbedFormats, Routes) {
  EXPECT_NE(find_embed_format("/v1/embeddings"), nullptr);
  EXPECT_NE(find_embed_format("/api/paas/v4/embeddings"), nullptr);
  EXPECT_NE(find_embed_format("/v1beta/models/gemini-embedding-001:embedContent"), nullptr);
  EXPECT_NE(find_embed_format("/v1beta/models/m:batchEmbedContents"), nullptr);
  EXPECT_NE(find_embed_format("/api/embed"), nullptr);
  EXPECT_EQ(find_embed_format("/v1/chat/completions"), nullptr);
  EXPECT_EQ(find_embed_format("/api/embeddings"), nullptr);
}

TEST(EmbedFormats, OpenAIAnswersTheMockVectorsAndCountsWords) {
  auto call = parse("/v1/embeddings", R"({"model":"e","input":["a b","c"],"dimensions":4})");
  ASSERT_TRUE(call);
  EXPECT_EQ(call->dimensions, 4);
  const auto v = json::parse(find_embed_format("/v1/embeddings")->answer(*call));
  EXPECT_EQ(floats(v.at("data").at(1).at("embedding")), mock_embedding("c", 4));
  EXPECT_EQ(v.at("data").at(1).at("index").as_int64(), 1);
  EXPECT_EQ(v.at("usage").at("prompt_tokens").as_int64(), 3);
  EXPECT_FALSE(parse("/v1/embeddings", R"({"model":"e","input":[]})"));
  EXPECT_FALSE(parse("/v1/embeddings", R"({"input":"x"})"));
}

TEST(EmbedFormats, GeminiOneAndBatch) {
  const std::string one_path = "/v1beta/models/gm:embedContent";
  auto one = parse(one_path, R"({"content":{"parts":[{"text":"hi"}]},"outputDimensionality":3})");
  ASSERT_TRUE(one);
  EXPECT_EQ(one->model, "gm");
  const auto a = json::parse(find_embed_format(one_path)->answer(*one));
  EXPECT_EQ(floats(a.at("embedding").at("values")), mock_embedding("hi", 3));
  const std::string batch_path = "/v1beta/models/gm:batchEmbedContents";
  auto batch = parse(batch_path, R"({"requests":[{"model":"models/gm","content":{"parts":[
      {"text":"x"}]}},{"model":"models/gm","content":{"parts":[{"text":"y"}]}}]})");
  ASSERT_TRUE(batch);
  const auto b = json::parse(find_embed_format(batch_path)->answer(*batch));
  ASSERT_EQ(b.at("embeddings").as_array().size(), 2u);
  EXPECT_EQ(floats(b.at("embeddings").at(1).at("values")), mock_embedding("y", kMockEmbeddingDims));
  EXPECT_FALSE(parse(one_path, R"({"content":{}})"));
}

TEST(EmbedFormats, Ollama) {
  auto call = parse("/api/embed", R"({"model":"nomic","input":"one two three"})");
  ASSERT_TRUE(call);
  const auto v = json::parse(find_embed_format("/api/embed")->answer(*call));
  EXPECT_EQ(floats(v.at("embeddings").at(0)), mock_embedding("one two three", kMockEmbeddingDims));
  EXPECT_EQ(v.at("prompt_eval_count").as_int64(), 3);
}

}  // namespace
}  // namespace bc::mockllm
