// Reading embedding requests, writing answers (float and base64), the mocks' vectors.
#include "core/embedding.h"

#include <cmath>

#include <gtest/gtest.h>
#include <boost/json.hpp>

namespace bc {
namespace {

std::string param_of(std::string_view body) {
  auto parsed = parse_embedding_request(body);
  EXPECT_FALSE(parsed);
  if (parsed) return {};
  EXPECT_EQ(parsed.error().status(), 400);
  return parsed.error().param;
}

TEST(EmbeddingRequest, ReadsStringInput) {
  auto r = parse_embedding_request(R"({"model":"e","input":"hello world","user":"u"})");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->model, "e");
  EXPECT_TRUE(r->single);
  ASSERT_EQ(r->inputs.size(), 1u);
  EXPECT_EQ(r->inputs[0], "hello world");
  EXPECT_FALSE(r->dimensions);
  EXPECT_FALSE(r->base64);
}

TEST(EmbeddingRequest, ReadsArrayDimensionsAndBase64) {
  auto r = parse_embedding_request(
      R"({"model":"e","input":["a","bb"],"dimensions":4,"encoding_format":"base64"})");
  ASSERT_TRUE(r);
  EXPECT_FALSE(r->single);
  EXPECT_EQ(r->inputs, (std::vector<std::string>{"a", "bb"}));
  EXPECT_EQ(r->dimensions, 4);
  EXPECT_TRUE(r->base64);
  EXPECT_EQ(r->content_chars(), 3);
  EXPECT_EQ(r->estimated_tokens(), 2);  // at least one an input
}

TEST(EmbeddingRequest, NamesTheFieldAtFault) {
  EXPECT_EQ(param_of(R"({"input":"x"})"), "model");
  EXPECT_EQ(param_of(R"({"model":"e"})"), "input");
  EXPECT_EQ(param_of(R"({"model":"e","input":[]})"), "input");
  EXPECT_EQ(param_of(R"({"model":"e","input":""})"), "input");
  EXPECT_EQ(param_of(R"({"model":"e","input":[1,2,3]})"), "input");
  EXPECT_EQ(param_of(R"({"model":"e","input":[[1,2]]})"), "input");
  EXPECT_EQ(param_of(R"({"model":"e","input":{"a":1}})"), "input");
  EXPECT_EQ(param_of(R"({"model":"e","input":"x","dimensions":0})"), "dimensions");
  EXPECT_EQ(param_of(R"({"model":"e","input":"x","dimensions":"8"})"), "dimensions");
  EXPECT_EQ(param_of(R"({"model":"e","input":"x","encoding_format":"int8"})"), "encoding_format");
  EXPECT_EQ(param_of("[1]"), "");
  const auto tokens = parse_embedding_request(R"({"model":"e","input":[[1,2]]})");
  EXPECT_EQ(tokens.error().code, "unsupported_input");
  const auto json = boost::json::parse(tokens.error().to_json());
  EXPECT_EQ(json.at("error").at("param").as_string(), "input");
}

TEST(EmbeddingAnswer, RendersOpenAIShape) {
  EmbeddingResponse r;
  r.vectors = {{0.5f, -1.0f}, {0.25f, 2.0f}};
  const auto text = render_embeddings(r, "emb", false, Usage{3, 0, 3});
  const auto v = boost::json::parse(text).as_object();
  EXPECT_EQ(v.at("object").as_string(), "list");
  EXPECT_EQ(v.at("model").as_string(), "emb");
  const auto& data = v.at("data").as_array();
  ASSERT_EQ(data.size(), 2u);
  EXPECT_EQ(data[1].at("object").as_string(), "embedding");
  EXPECT_EQ(data[1].at("index").as_int64(), 1);
  EXPECT_EQ(data[1].at("embedding").as_array()[0].as_double(), 0.25);
  EXPECT_EQ(v.at("usage").at("prompt_tokens").as_int64(), 3);
  EXPECT_EQ(v.at("usage").at("total_tokens").as_int64(), 3);
}

TEST(EmbeddingAnswer, Base64IsLittleEndianFloat32) {
  // 1.0f is 0x3f800000: bytes 00 00 80 3f.
  EXPECT_EQ(base64_floats({1.0f}), "AACAPw==");
  EmbeddingResponse r;
  r.vectors = {{1.0f, -0.5f, 0.125f}};
  const auto v = boost::json::parse(render_embeddings(r, "m", true, Usage{}));
  const auto decoded = floats_from_base64(v.at("data").at(0).at("embedding").as_string());
  ASSERT_TRUE(decoded);
  EXPECT_EQ(*decoded, r.vectors[0]);
  EXPECT_FALSE(floats_from_base64("AAC"));
  EXPECT_FALSE(floats_from_base64("AA=A"));
  EXPECT_FALSE(floats_from_base64("AAA="));  // 2 bytes: not a whole float
}

TEST(MockEmbedding, DeterministicUnitVectors) {
  const auto a = mock_embedding("hello", 16);
  EXPECT_EQ(a, mock_embedding("hello", 16));
  EXPECT_NE(a, mock_embedding("hellp", 16));
  ASSERT_EQ(a.size(), 16u);
  double norm = 0;
  for (const float x : a) norm += double(x) * x;
  EXPECT_NEAR(std::sqrt(norm), 1.0, 1e-5);
  EXPECT_EQ(mock_embedding("x", 3).size(), 3u);
  EXPECT_EQ(mock_embedding_tokens("  two words "), 2);
  EXPECT_EQ(mock_embedding_tokens(""), 1);
}

}  // namespace
}  // namespace bc
