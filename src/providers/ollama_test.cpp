#include "providers/ollama.h"

#include <gtest/gtest.h>
#include <boost/json.hpp>

#include "providers/stream_testing.h"

namespace bc::providers {
namespace {

namespace json = boost::json;
using testing::Decoded;

ChatRequest request(std::string_view body) {
  auto r = ChatRequest::parse(body);
  EXPECT_TRUE(r.ok()) << r.error().message;
  return std::move(r).value();
}

ProviderOptions options(bool tools = true) {
  ProviderOptions o;
  o.model_name = "local";
  o.upstream_model = "llama3.2";
  o.supports_tools = tools;
  return o;
}

const Credential kNoKey{"", "ollama-1"};

json::value encode(std::string_view body, ProviderOptions o = options()) {
  auto r = make_ollama(o)->encode(request(body), kNoKey);
  EXPECT_TRUE(r.ok()) << r.error().message;
  return r.ok() ? json::parse(r->body) : json::value();
}

TEST(OllamaEncode, GoldenRequestWithOptionsToolsAndToolResults) {
  ProviderOptions o = options();
  o.default_temperature = 0.6;
  auto r = make_ollama(o)->encode(
      request(
          R"({"model":"local","stream":true,"max_tokens":128,"stop":"END","seed":42,"top_p":0.9,)"
          R"("response_format":{"type":"json_object"},"messages":[)"
          R"({"role":"developer","content":"Be brief."},)"
          R"({"role":"user","content":[{"type":"text","text":"What is in this picture? "},)"
          R"({"type":"image_url","image_url":{"url":"data:image/jpeg;base64,/9j/4AAQ"}}]},)"
          R"({"role":"assistant","content":"","tool_calls":[{"id":"call_1","type":"function",)"
          R"("function":{"name":"weather","arguments":"{\"city\":\"Paris\"}"}}]},)"
          R"({"role":"tool","tool_call_id":"call_1","content":"22 C"}],)"
          R"("tools":[{"type":"function","function":{"name":"weather","parameters":{"type":"object"}}}],)"
          R"("tool_choice":"auto"})"),
      kNoKey);
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->url, "http://127.0.0.1:11434/api/chat");
  EXPECT_FALSE(find_header(r->headers, "authorization"));
  EXPECT_TRUE(r->stream);
  EXPECT_EQ(
      json::parse(r->body),
      json::parse(
          R"({"model":"llama3.2","messages":[)"
          R"({"role":"system","content":"Be brief."},)"
          R"({"role":"user","content":"What is in this picture? ","images":["/9j/4AAQ"]},)"
          R"({"role":"assistant","content":"","tool_calls":[{"function":{"name":"weather","arguments":{"city":"Paris"}}}]},)"
          R"({"role":"tool","content":"22 C","tool_name":"weather"}],)"
          R"("stream":true,)"
          R"("options":{"temperature":0.6,"top_p":0.9,"seed":42,"num_predict":128,"stop":["END"]},)"
          R"("format":"json",)"
          R"("tools":[{"type":"function","function":{"name":"weather","parameters":{"type":"object"}}}]})"));
}

TEST(OllamaEncode, StreamIsAlwaysSentAndKeysAreBearerTokens) {
  ProviderOptions o = options();
  o.base_url = "https://ollama.example.com/";
  auto r = make_ollama(o)->encode(request(R"({"messages":[{"role":"user","content":"x"}]})"),
                                  Credential{"proxy-token", "k"});
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->url, "https://ollama.example.com/api/chat");
  EXPECT_EQ(find_header(r->headers, "authorization"), "Bearer proxy-token");
  EXPECT_EQ(json::parse(r->body),
            json::parse(R"({"model":"llama3.2","messages":[{"role":"user","content":"x"}],)"
                        R"("stream":false})"));
}

TEST(OllamaEncode, CallerTemperatureWinsAndToolsNeedSupport) {
  ProviderOptions o = options(false);
  o.default_temperature = 0.6;
  const auto body = encode(R"({"messages":[{"role":"user","content":"x"}],"temperature":0,)"
                           R"("tools":[{"type":"function","function":{"name":"f"}}]})",
                           o);
  EXPECT_EQ(body.at("options").at("temperature"), json::value(0.0));
  EXPECT_FALSE(body.as_object().contains("tools"));
}

TEST(OllamaEncode, ImageLinksAreRefused) {
  auto r = make_ollama(options())->encode(
      request(R"({"messages":[{"role":"user","content":[{"type":"image_url",)"
              R"("image_url":{"url":"https://example.com/cat.png"}}]}]})"),
      kNoKey);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().kind, ErrorKind::kInvalidRequest);
}

// the final non-stream object.
TEST(OllamaDecode, TextAndUsage) {
  auto r = make_ollama(options())->decode(UpstreamResponse{
      200,
      {},
      R"({"model":"llama3.2","created_at":"2024-08-07T03:57:37.07Z","message":{"role":"assistant","content":"Hello!"},)"
      R"("done":true,"done_reason":"stop","total_duration":4353619900,"prompt_eval_count":10,"eval_count":17})"});
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(
      json::value(r->completion),
      json::parse(
          R"({"id":"chatcmpl-ollama-1723003057","object":"chat.completion",)"
          R"("created":1723003057,"model":"llama3.2","choices":[{"index":0,)"
          R"("message":{"role":"assistant","content":"Hello!","refusal":null},"logprobs":null,)"
          R"("finish_reason":"stop"}],)"
          R"("usage":{"prompt_tokens":10,"completion_tokens":17,"total_tokens":27}})"));
}

TEST(OllamaDecode, ToolCallsAndLength) {
  auto r = make_ollama(options())->decode(UpstreamResponse{
      200,
      {},
      R"({"model":"llama3.2","created_at":"2024-08-07T12:57:37+09:00","message":{"role":"assistant","content":"",)"
      R"("tool_calls":[{"function":{"name":"weather","arguments":{"location":"Paris"}}}]},"done":true,"done_reason":"stop"})"});
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->completion.at("created"), json::value(1723003057));
  const auto& choice = r->completion.at("choices").at(0);
  EXPECT_EQ(choice.at("finish_reason"), json::value("tool_calls"));
  EXPECT_EQ(
      choice.at("message"),
      json::parse(
          R"({"role":"assistant","content":null,"tool_calls":[{"id":"call_1723003057_0",)"
          R"("type":"function","function":{"name":"weather","arguments":"{\"location\":\"Paris\"}"}}],)"
          R"("refusal":null})"));
  EXPECT_EQ(r->usage.prompt_tokens, 0);

  auto cut = make_ollama(options())->decode(UpstreamResponse{
      200, {}, R"({"model":"m","message":{"content":"abc"},"done":true,"done_reason":"length"})"});
  ASSERT_TRUE(cut.ok());
  EXPECT_EQ(cut->completion.at("choices").at(0).at("finish_reason"), json::value("length"));
}

// NDJSON as recorded.
const std::string kStream =
    R"({"model":"llama3.2","created_at":"2024-08-07T03:57:33.03Z","message":{"role":"assistant","content":"Hello"},"done":false})"
    "\n"
    R"({"model":"llama3.2","created_at":"2024-08-07T03:57:33.28Z","message":{"role":"assistant","content":"!"},"done":false})"
    "\n"
    R"({"model":"llama3.2","created_at":"2024-08-07T03:57:37.07Z","message":{"role":"assistant","content":""},"done":true,"done_reason":"stop","total_duration":4353619900,"load_duration":63915300,"prompt_eval_count":10,"prompt_eval_duration":246847000,"eval_count":17,"eval_duration":4032296000})"
    "\n";

testing::DecoderFactory ollama_decoder() {
  return [] { return make_ollama(options())->stream_decoder(); };
}

std::string chunk(std::string_view rest) {
  return R"({"id":"chatcmpl-ollama-1723003053","object":"chat.completion.chunk","created":1723003053,"model":"llama3.2",)" +
         std::string(rest) + "}";
}

std::string delta(std::string_view d) {
  return chunk(R"("choices":[{"index":0,"delta":)" + std::string(d) + R"(,"finish_reason":null}])");
}

void expect_chunks(const Decoded& d, const std::vector<std::string>& want) {
  ASSERT_EQ(d.deltas.size(), want.size());
  for (std::size_t i = 0; i < want.size(); ++i) {
    EXPECT_EQ(json::parse(d.deltas[i].chunk_json), json::parse(want[i])) << "chunk " << i;
  }
}

TEST(OllamaStream, RecordedStreamBecomesOpenAiChunks) {
  const Decoded d = testing::expect_split_invariant(ollama_decoder(), kStream);
  ASSERT_FALSE(d.error) << d.error->message;
  EXPECT_TRUE(d.done);
  expect_chunks(
      d,
      {delta(R"({"role":"assistant","content":""})"), delta(R"({"content":"Hello"})"),
       delta(R"({"content":"!"})"),
       chunk(R"("choices":[{"index":0,"delta":{},"finish_reason":"stop"}])"),
       chunk(
           R"("choices":[],"usage":{"prompt_tokens":10,"completion_tokens":17,"total_tokens":27})")});
  EXPECT_EQ(d.deltas[3].finish_reason, "stop");
  EXPECT_EQ(d.deltas[4].usage->total_tokens, 27);
}

TEST(OllamaStream, ToolCallsArriveWholeAndThinkingIsReasoning) {
  const std::string bytes =
      R"({"model":"qwen3","created_at":"2024-08-07T03:57:33Z","message":{"role":"assistant","content":"","thinking":"Need weather."},"done":false})"
      "\r\n"
      R"({"model":"qwen3","created_at":"2024-08-07T03:57:34Z","message":{"role":"assistant","content":"","tool_calls":[{"id":"call_abc","function":{"index":0,"name":"weather","arguments":{"city":"Paris"}}}]},"done":false})"
      "\r\n"
      R"({"model":"qwen3","created_at":"2024-08-07T03:57:35Z","message":{"role":"assistant","content":""},"done":true,"done_reason":"stop","prompt_eval_count":30,"eval_count":12})";
  const Decoded d = testing::expect_split_invariant(ollama_decoder(), bytes);
  ASSERT_FALSE(d.error) << d.error->message;
  EXPECT_TRUE(d.done);
  ASSERT_EQ(d.deltas.size(), 5u);
  EXPECT_EQ(json::parse(d.deltas[1].chunk_json).at("choices").at(0).at("delta"),
            json::parse(R"({"reasoning_content":"Need weather."})"));
  EXPECT_EQ(
      json::parse(d.deltas[2].chunk_json).at("choices").at(0).at("delta"),
      json::parse(
          R"({"tool_calls":[{"index":0,"id":"call_abc","type":"function","function":{"name":"weather","arguments":"{\"city\":\"Paris\"}"}}]})"));
  EXPECT_EQ(d.deltas[3].finish_reason, "tool_calls");
}

TEST(OllamaStream, ErrorLineIsAnError) {
  const std::string bytes = kStream.substr(0, kStream.find('\n') + 1) +
                            R"({"error":"an error was encountered while running the model"})" +
                            "\n";
  const Decoded d = testing::expect_split_invariant(ollama_decoder(), bytes);
  ASSERT_TRUE(d.error);
  EXPECT_EQ(d.deltas.size(), 2u);
  EXPECT_EQ(d.error->kind, ErrorKind::kUpstream);
  EXPECT_TRUE(d.error->retryable);
  EXPECT_EQ(d.error->source, "upstream:ollama");
  EXPECT_NE(d.error->message.find("while running the model"), std::string::npos);
}

TEST(OllamaStream, CutStreamIsAnError) {
  const std::string cut = kStream.substr(0, kStream.rfind("{\"model\""));
  const Decoded d = testing::expect_split_invariant(ollama_decoder(), cut);
  ASSERT_TRUE(d.error);
  EXPECT_FALSE(d.done);
  EXPECT_EQ(d.error->message, "upstream stream ended before a line with \"done\":true");
  EXPECT_EQ(d.error->kind, ErrorKind::kUpstream);
  EXPECT_TRUE(d.error->retryable);
  const Decoded half = testing::decode_whole(ollama_decoder(), cut + R"({"model":"llama3.2","cre)");
  ASSERT_TRUE(half.error);
  EXPECT_EQ(half.error->message, d.error->message);
}

TEST(OllamaClassify, MissingModelFailsAndServerErrorsRetry) {
  auto p = make_ollama(options());
  const Error missing =
      p->classify(404, {}, R"({"error":"model \"llama9\" not found, try pulling it first"})");
  EXPECT_EQ(missing.kind, ErrorKind::kInvalidRequest);
  EXPECT_EQ(missing.code, "model_not_found");
  EXPECT_FALSE(missing.retryable);
  EXPECT_EQ(missing.key_action, KeyAction::kNone);
  EXPECT_EQ(missing.source, "upstream:ollama");
  EXPECT_NE(missing.message.find("try pulling it first"), std::string::npos);
  const Error bad = p->classify(400, {}, R"({"error":"invalid options"})");
  EXPECT_FALSE(bad.retryable);
  const Error crashed = p->classify(500, {}, R"({"error":"llama runner process has terminated"})");
  EXPECT_EQ(crashed.kind, ErrorKind::kUpstream);
  EXPECT_TRUE(crashed.retryable);
  EXPECT_TRUE(p->classify(503, {}, "server busy").retryable);
}

}  // namespace
}  // namespace bc::providers
