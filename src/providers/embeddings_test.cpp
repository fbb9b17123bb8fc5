// Embedding requests built and answers decoded per provider, through the adapters the
// registry makes (no HTTP).
#include "providers/embeddings.h"

#include <gtest/gtest.h>
#include <boost/json.hpp>

#include "providers/mock_answer.h"
#include "providers/registry.h"
#include "providers/zhipu.h"

namespace bc::providers {
namespace {

namespace json = boost::json;

std::unique_ptr<Provider> make(std::string_view name, std::string upstream_model,
                               std::string base_url = {}, bool jwt = false) {
  ProviderOptions o;
  o.model_name = "emb";
  o.upstream_model = std::move(upstream_model);
  o.base_url = std::move(base_url);
  if (name == "zhipu") o.own_options = ZhipuOptions{jwt};
  auto p = make_provider(name, std::move(o));
  EXPECT_TRUE(p.ok()) << name;
  return std::move(p).value();
}

EmbeddingRequest request(std::vector<std::string> inputs, std::optional<int> dims = {},
                         bool single = false) {
  EmbeddingRequest r;
  r.model = "emb";
  r.inputs = std::move(inputs);
  r.dimensions = dims;
  r.single = single;
  return r;
}

Credential key(std::string secret = "sk-test") {
  return Credential{std::move(secret), "k1"};
}

std::string header(const UpstreamRequest& r, std::string_view name) {
  for (const auto& h : r.headers) {
    if (h.name == name) return h.value;
  }
  return {};
}

UpstreamResponse ok(std::string body) {
  return UpstreamResponse{200, {}, std::move(body)};
}

TEST(Embeddings, OnlyEmbeddingProvidersEmbed) {
  for (std::string_view name : {"openai", "zhipu", "gemini", "ollama", "mock"}) {
    EXPECT_TRUE(make(name, "m")->embeds()) << name;
  }
  for (std::string_view name : {"anthropic", "baidu", "spark"}) {
    EXPECT_FALSE(make(name, "m")->embeds()) << name;
  }
}

TEST(Embeddings, OpenAIRequestPassesTheShape) {
  auto p = make("openai", "text-embedding-3-small", "http://127.0.0.1:9/v1");
  auto r = p->encode_embeddings(request({"a", "b"}, 8), key());
  ASSERT_TRUE(r);
  EXPECT_EQ(r->url, "http://127.0.0.1:9/v1/embeddings");
  EXPECT_EQ(header(*r, "Authorization"), "Bearer sk-test");
  EXPECT_FALSE(r->stream);
  EXPECT_EQ(json::parse(r->body), json::parse(R"({"model":"text-embedding-3-small",
      "input":["a","b"],"encoding_format":"float","dimensions":8})"));
  auto one = p->encode_embeddings(request({"x"}, {}, true), key());
  EXPECT_EQ(json::parse(one->body), json::parse(R"({"model":"text-embedding-3-small",
      "input":"x","encoding_format":"float"})"));
  // The default base URL is OpenAI's.
  EXPECT_EQ(make("openai", "m")->encode_embeddings(request({"x"}), key())->url,
            "https://api.openai.com/v1/embeddings");
}

TEST(Embeddings, OpenAIAnswerPlacedByIndexWithUsage) {
  auto p = make("openai", "m");
  auto d = p->decode_embeddings(ok(R"({"object":"list","data":[
      {"object":"embedding","index":1,"embedding":[3,4]},
      {"object":"embedding","index":0,"embedding":[1.5,-2]}],
      "model":"m","usage":{"prompt_tokens":5,"total_tokens":5}})"));
  ASSERT_TRUE(d);
  ASSERT_EQ(d->vectors.size(), 2u);
  EXPECT_EQ(d->vectors[0], (std::vector<float>{1.5f, -2.0f}));
  EXPECT_EQ(d->vectors[1], (std::vector<float>{3.0f, 4.0f}));
  ASSERT_TRUE(d->usage);
  EXPECT_EQ(d->usage->prompt_tokens, 5);
  EXPECT_EQ(d->usage->total_tokens, 5);
}

TEST(Embeddings, OpenAIAnswerInBase64IsDecoded) {
  auto p = make("openai", "m");
  auto d = p->decode_embeddings(
      ok(R"({"data":[{"index":0,"embedding":")" + base64_floats({1.0f, 0.5f}) + R"("}]})"));
  ASSERT_TRUE(d);
  EXPECT_EQ(d->vectors[0], (std::vector<float>{1.0f, 0.5f}));
  EXPECT_FALSE(d->usage);  // none given: the gateway estimates
}

TEST(Embeddings, OpenAIBrokenAnswersAreUpstreamErrors) {
  auto p = make("openai", "m");
  for (std::string body : {R"(not json)", R"({"data":{}})", R"({"data":[{"index":0}]})",
                           R"({"data":[{"index":3,"embedding":[1]}]})",
                           R"({"data":[{"index":0,"embedding":[1]},{"index":0,"embedding":[1]}]})",
                           R"({"data":[{"index":0,"embedding":["x"]}]})",
                           R"({"data":[{"index":0,"embedding":"A"}]})"}) {
    auto d = p->decode_embeddings(ok(body));
    ASSERT_FALSE(d) << body;
    EXPECT_EQ(d.error().kind, ErrorKind::kUpstream) << body;
    EXPECT_TRUE(d.error().retryable) << body;
    EXPECT_EQ(d.error().source, "upstream:openai");
  }
  auto e =
      p->decode_embeddings(ok(R"({"error":{"message":"bad","type":"invalid_request_error"}})"));
  ASSERT_FALSE(e);
}

TEST(Embeddings, ZhipuUsesItsBaseUrlAndJwt) {
  auto p = make("zhipu", "embedding-3");
  auto r = p->encode_embeddings(request({"hi"}, 256, true), key());
  ASSERT_TRUE(r);
  EXPECT_EQ(r->url, "https://open.bigmodel.cn/api/paas/v4/embeddings");
  EXPECT_EQ(json::parse(r->body), json::parse(R"({"model":"embedding-3","input":"hi",
      "encoding_format":"float","dimensions":256})"));
  EXPECT_EQ(header(*r, "Authorization"), "Bearer sk-test");
  const Credential id_secret{"id.secret", "k", {}, 1'700'000'000'000};
  auto signed_request =
      make("zhipu", "embedding-3", {}, true)->encode_embeddings(request({"hi"}), id_secret);
  ASSERT_TRUE(signed_request);
  const auto auth = header(*signed_request, "Authorization");
  EXPECT_TRUE(auth.starts_with("Bearer ey")) << auth;  // a JWT, not the key
  auto d = p->decode_embeddings(ok(R"({"data":[{"index":0,"embedding":[0.25],"object":
      "embedding"}],"model":"embedding-3","object":"list","usage":{"completion_tokens":0,
      "prompt_tokens":2,"total_tokens":2}})"));
  ASSERT_TRUE(d);
  EXPECT_EQ(d->usage->prompt_tokens, 2);
}

TEST(Embeddings, GeminiOneInputIsEmbedContent) {
  auto p = make("gemini", "gemini-embedding-001", "http://127.0.0.1:9/v1beta");
  auto r = p->encode_embeddings(request({"hello"}, 4), key("g-key"));
  ASSERT_TRUE(r);
  EXPECT_EQ(r->url, "http://127.0.0.1:9/v1beta/models/gemini-embedding-001:embedContent");
  EXPECT_EQ(header(*r, "x-goog-api-key"), "g-key");
  EXPECT_EQ(header(*r, "Authorization"), "");
  EXPECT_EQ(json::parse(r->body), json::parse(R"({"content":{"parts":[{"text":"hello"}]},
      "outputDimensionality":4})"));
  auto d = p->decode_embeddings(ok(R"({"embedding":{"values":[0.5,0.25]}})"));
  ASSERT_TRUE(d);
  ASSERT_EQ(d->vectors.size(), 1u);
  EXPECT_EQ(d->vectors[0], (std::vector<float>{0.5f, 0.25f}));
  EXPECT_FALSE(d->usage);
}

TEST(Embeddings, GeminiSeveralInputsAreBatched) {
  auto p = make("gemini", "models/text-embedding-004");
  auto r = p->encode_embeddings(request({"a", "b"}), key());
  ASSERT_TRUE(r);
  EXPECT_EQ(r->url,
            "https://generativelanguage.googleapis.com/v1beta/models/"
            "text-embedding-004:batchEmbedContents");
  EXPECT_EQ(json::parse(r->body), json::parse(R"({"requests":[
      {"model":"models/text-embedding-004","content":{"parts":[{"text":"a"}]}},
      {"model":"models/text-embedding-004","content":{"parts":[{"text":"b"}]}}]})"));
  auto d = p->decode_embeddings(ok(R"({"embeddings":[{"values":[1]},{"values":[2]}]})"));
  ASSERT_TRUE(d);
  EXPECT_EQ(d->vectors.size(), 2u);
  EXPECT_EQ(d->vectors[1], (std::vector<float>{2.0f}));
  EXPECT_FALSE(p->decode_embeddings(ok(R"({"embeddings":[{"value":[1]}]})")));
  EXPECT_FALSE(p->decode_embeddings(ok(R"({})")));
  auto e = p->decode_embeddings(ok(R"({"error":{"code":400,"message":"bad","status":
      "INVALID_ARGUMENT"}})"));
  ASSERT_FALSE(e);
}

TEST(Embeddings, OllamaUsesApiEmbed) {
  auto p = make("ollama", "nomic-embed-text");
  auto r = p->encode_embeddings(request({"a", "b"}), Credential{"", "k"});
  ASSERT_TRUE(r);
  EXPECT_EQ(r->url, "http://127.0.0.1:11434/api/embed");
  EXPECT_EQ(header(*r, "Authorization"), "");  // no key: no auth
  EXPECT_EQ(json::parse(r->body), json::parse(R"({"model":"nomic-embed-text","input":["a","b"]})"));
  auto d =
      p->decode_embeddings(ok(R"({"model":"nomic-embed-text","embeddings":[[0.1,0.2],[0.3,0.4]],
      "total_duration":1,"prompt_eval_count":7})"));
  ASSERT_TRUE(d);
  ASSERT_EQ(d->vectors.size(), 2u);
  EXPECT_FLOAT_EQ(d->vectors[1][1], 0.4f);
  EXPECT_EQ(d->usage->prompt_tokens, 7);
  EXPECT_EQ(d->usage->total_tokens, 7);
  EXPECT_FALSE(p->decode_embeddings(ok(R"({"embeddings":[["x"]]})")));
  EXPECT_FALSE(p->decode_embeddings(ok(R"({"error":"model not found"})")));
}

TEST(Embeddings, MockAnswersWithTheMockVectors) {
  auto p = make("mock", "emb");
  auto r = p->encode_embeddings(request({"hello"}, 4), key());
  ASSERT_TRUE(r);
  EXPECT_EQ(r->url, "mock://emb");
  // What the in-process mock upstream answers to that body decodes to the mock's vectors.
  auto answer = mock_embeddings_json(json::parse(r->body).as_object(), "emb");
  ASSERT_TRUE(answer);
  auto d = p->decode_embeddings(ok(*answer));
  ASSERT_TRUE(d);
  EXPECT_EQ(d->vectors[0], mock_embedding("hello", 4));
  EXPECT_EQ(d->usage->prompt_tokens, 1);
  EXPECT_FALSE(mock_embeddings_json(json::parse(R"({"input":[1]})").as_object(), "emb"));
}

}  // namespace
}  // namespace bc::providers
