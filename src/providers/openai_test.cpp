// The OpenAI adapter's requests and whole answers: encode (golden bodies, the caller's bytes
// kept where nothing changes) and decode.
#include "providers/openai.h"

#include <optional>
#include <random>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <boost/json.hpp>

#include "core/json_text.h"
#include "core/mutate_for_tests.h"
#include "providers/stream_testing.h"

namespace bc::providers {
namespace {

namespace json = boost::json;
using testing::Decoded;
using testing::expect_split_invariant;

ChatRequest request(std::string_view body) {
  auto r = ChatRequest::parse(body);
  EXPECT_TRUE(r.ok()) << r.error().message;
  return std::move(r).value();
}

ProviderOptions options() {
  ProviderOptions o;
  o.model_name = "gpt";
  o.upstream_model = "gpt-4o-mini";
  return o;
}

json::value body_of(const UpstreamRequest& r) {
  return json::parse(r.body);
}

std::optional<std::string> header(const UpstreamRequest& r, std::string_view name) {
  const auto v = find_header(r.headers, name);
  if (!v) return std::nullopt;
  return std::string(*v);
}

const Credential kKey{"sk-test-0123456789abcdef", "key-1"};

TEST(OpenAiEncode, GoldenRequestWithDefaultsApplied) {
  ProviderOptions o = options();
  o.default_temperature = 0.3;
  o.base_url = "https://api.deepseek.com/v1/";
  OpenAiProvider p(o);
  auto r = p.encode(request(R"({"model":"gpt","messages":[{"role":"user","content":"hi"}],)"
                            R"("tools":[{"type":"function","function":{"name":"f"}}],)"
                            R"("tool_choice":"auto","parallel_tool_calls":false,"max_tokens":5})"),
                    kKey);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->method, "POST");
  EXPECT_EQ(r->url, "https://api.deepseek.com/v1/chat/completions");
  EXPECT_EQ(header(*r, "authorization"), "Bearer sk-test-0123456789abcdef");
  EXPECT_EQ(header(*r, "content-type"), "application/json");
  EXPECT_FALSE(r->stream);
  EXPECT_EQ(body_of(*r), json::parse(R"({"model":"gpt-4o-mini","temperature":0.3,"max_tokens":5,)"
                                     R"("messages":[{"role":"user","content":"hi"}]})"));
}

TEST(OpenAiEncode, DefaultBaseUrlAndCallerTemperatureKept) {
  ProviderOptions o = options();
  o.default_temperature = 0.9;
  OpenAiProvider p(o);
  auto r = p.encode(
      request(R"({"messages":[{"role":"user","content":"hi"}],"temperature":0,"stream":false})"),
      kKey);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->url, "https://api.openai.com/v1/chat/completions");
  EXPECT_EQ(body_of(*r), json::parse(R"({"model":"gpt-4o-mini","temperature":0,)"
                                     R"("messages":[{"role":"user","content":"hi"}]})"));
  auto null_temp = p.encode(
      request(R"({"messages":[{"role":"user","content":"hi"}],"temperature":null})"), kKey);
  EXPECT_EQ(body_of(*null_temp).at("temperature"), json::value(0.9));
}

TEST(OpenAiEncode, KeepsToolsWhenTheModelSupportsThem) {
  ProviderOptions o = options();
  o.supports_tools = true;
  const std::string in =
      R"({"messages":[{"role":"user","content":"hi"}],"tools":[{"type":"function","function":{"name":"f"}}],"tool_choice":"required"})";
  auto r = OpenAiProvider(o).encode(request(in), kKey);
  ASSERT_TRUE(r.ok());
  json::value want = json::parse(in);
  want.as_object()["model"] = "gpt-4o-mini";
  EXPECT_EQ(body_of(*r), want);
}

TEST(OpenAiEncode, StreamingAlwaysAsksForUsage) {
  OpenAiProvider p(options());
  auto r =
      p.encode(request(R"({"messages":[{"role":"user","content":"hi"}],"stream":true})"), kKey);
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(r->stream);
  EXPECT_EQ(body_of(*r), json::parse(R"({"model":"gpt-4o-mini","stream":true,)"
                                     R"("stream_options":{"include_usage":true},)"
                                     R"("messages":[{"role":"user","content":"hi"}]})"));
  // The gateway counts tokens whatever the caller chose (its client gets usage chunks only
  // when it asked); the caller's other stream options stay.
  auto own =
      p.encode(request(R"({"messages":[{"role":"user","content":"hi"}],"stream":true,)"
                       R"("stream_options":{"include_usage":false,"include_obfuscation":false}})"),
               kKey);
  EXPECT_EQ(body_of(*own).at("stream_options"),
            json::parse(R"({"include_usage":true,"include_obfuscation":false})"));
  // The gateway may ask for a stream the body did not (the /llm/chat/stream endpoint).
  ChatRequest forced = request(R"({"messages":[{"role":"user","content":"hi"}]})");
  forced.stream = true;
  auto f = p.encode(forced, kKey);
  EXPECT_EQ(body_of(*f).at("stream"), json::value(true));
  EXPECT_TRUE(f->stream);
}

TEST(OpenAiEncode, NonStreamDropsStreamOptions) {
  OpenAiProvider p(options());
  auto r = p.encode(request(R"({"messages":[{"role":"user","content":"hi"}],)"
                            R"("stream_options":{"include_usage":true}})"),
                    kKey);
  EXPECT_EQ(body_of(*r), json::parse(R"({"model":"gpt-4o-mini",)"
                                     R"("messages":[{"role":"user","content":"hi"}]})"));
}

TEST(OpenAiEncode, NoAuthorizationHeaderWithoutASecret) {
  auto r = OpenAiProvider(options()).encode(
      request(R"({"messages":[{"role":"user","content":"hi"}]})"), Credential{});
  EXPECT_EQ(header(*r, "authorization"), std::nullopt);
}

TEST(OpenAiEncode, UsesTheConfiguredNameWhenNoUpstreamModel) {
  ProviderOptions o = options();
  o.upstream_model.clear();
  auto r =
      OpenAiProvider(o).encode(request(R"({"messages":[{"role":"user","content":"hi"}]})"), kKey);
  EXPECT_EQ(body_of(*r).at("model"), json::value("gpt"));
}

constexpr std::string_view kCompletion = R"({
  "id": "chatcmpl-9xYz", "object": "chat.completion", "created": 1730000000,
  "model": "gpt-4o-mini-2024-07-18", "system_fingerprint": "fp_abc123",
  "choices": [{"index": 0, "message": {"role": "assistant", "content": "Paris.", "refusal": null,
               "annotations": []}, "logprobs": null, "finish_reason": "stop"}],
  "usage": {"prompt_tokens": 14, "completion_tokens": 2, "total_tokens": 16,
            "prompt_tokens_details": {"cached_tokens": 0}}})";

// openai_body_text writes the caller's object with the overrides in place; it must say what
// json_text(openai_body(...)) says, whatever the options and whichever members the caller sent.
TEST(OpenAiEncode, BodyTextMatchesTheEditedObject) {
  // std::nullopt: the member is left out (a json null is a case of its own).
  using Member = std::optional<json::value>;
  const Member stream_values[] = {std::nullopt, true, false, nullptr};
  const Member stream_options_values[] = {std::nullopt, nullptr,
                                          json::object{{"include_usage", false}}};
  const Member temperature_values[] = {std::nullopt, nullptr, 0.9, 1};
  const std::optional<double> default_temperatures[] = {std::nullopt, 0.3};
  int cases = 0;
  for (const bool model_first : {false, true}) {
    for (const bool with_model : {false, true}) {
      for (const bool with_tools : {false, true}) {
        for (const auto& stream_value : stream_values) {
          for (const auto& stream_options : stream_options_values) {
            for (const auto& temperature : temperature_values) {
              // Members in an order that puts overridden ones first, last and in between.
              ChatRequest r;
              const auto add = [&](std::string_view key, const Member& v) {
                if (v) r.mutable_body()[key] = *v;
              };
              if (model_first && with_model) r.mutable_body()["model"] = "gpt";
              add("stream", stream_value);
              r.mutable_body()["messages"] =
                  json::parse(R"([{"role":"user","content":"q\"\\\n\u0001 \u00e9\u4f60 x"}])");
              if (with_tools) {
                r.mutable_body()["tools"] =
                    json::parse(R"([{"type":"function","function":{"name":"f"}}])");
                r.mutable_body()["tool_choice"] = "auto";
              }
              add("temperature", temperature);
              r.mutable_body()["max_tokens"] = 5;
              if (with_tools) {
                r.mutable_body()["parallel_tool_calls"] = false;
                r.mutable_body()["functions"] = json::array{};
                r.mutable_body()["function_call"] = "none";
              }
              add("stream_options", stream_options);
              if (!model_first && with_model) r.mutable_body()["model"] = "gpt";
              for (const bool stream : {false, true}) {
                r.stream = stream;
                for (const auto& default_temperature : default_temperatures) {
                  for (const bool supports_tools : {false, true}) {
                    for (const char* upstream_model : {"", "up-model"}) {
                      ProviderOptions o = options();
                      o.upstream_model = upstream_model;
                      o.default_temperature = default_temperature;
                      o.supports_tools = supports_tools;
                      const json::object expected = openai_body(r, o);
                      const std::string text = openai_body_text(r, o);
                      json::error_code ec;
                      const json::value parsed = json::parse(text, ec);
                      ASSERT_FALSE(ec) << text;
                      ASSERT_EQ(parsed, json::value(expected))
                          << text << "\nexpected " << json_text(expected);
                      // Same members written by the same writer: same length. A member
                      // written twice would parse as one but make the text longer.
                      ASSERT_EQ(text.size(), json_text(expected).size()) << text;
                      ++cases;
                    }
                  }
                }
              }
            }
          }
        }
      }
    }
  }
  EXPECT_EQ(cases, 2 * 2 * 2 * 4 * 3 * 4 * 2 * 2 * 2 * 2);
}

TEST(OpenAiEncode, BodyTextKeepsTheCallersMemberOrder) {
  ChatRequest r;
  r.mutable_body() =
      json::parse(R"({"temperature":null,"model":"gpt","messages":[],"stream":false,)"
                  R"("tools":[],"max_tokens":5})")
          .as_object();
  r.stream = true;
  ProviderOptions o = options();
  o.default_temperature = 0.5;
  EXPECT_EQ(openai_body_text(r, o),
            R"({"temperature":0.5,"model":"gpt-4o-mini","messages":[],"stream":true,)"
            R"("max_tokens":5,"stream_options":{"include_usage":true}})");
}

// The members' keys of a JSON object text, in order.
std::vector<std::string> keys_of(const std::string& text) {
  std::vector<std::string> keys;
  const json::value parsed = json::parse(text);
  for (const auto& kv : parsed.as_object()) keys.emplace_back(kv.key());
  return keys;
}

TEST(OpenAiEncode, AScannedRequestIsSentAsItsTreeWouldBe) {
  const char* const requests[] = {
      R"({"model":"gpt","messages":[{"role":"user","content":"hi é"}],"temperature":0.70})",
      R"({"temperature":null,"messages":[{"role":"user","content":"x"}],"stream":true,)"
      R"("stream_options":null,"tools":[{"type":"function","function":{"name":"f"}}],)"
      R"("tool_choice":"auto","parallel_tool_calls":false,"max_tokens":5})",
      R"( { "messages" : [ { "role" : "user" , "content" : "a\nb" } ] , "stream" : false ,)"
      R"( "stream_options" : { "include_usage" : false } , "n" : 1.0E+2 , "user" : null } )",
      R"({"messages":[{"role":"user","content":"x"}],"stream":true,)"
      R"("stream_options":{"include_usage":false},"functions":[],"function_call":"none"})",
  };
  int cases = 0;
  for (const char* text : requests) {
    const auto scanned = ChatRequest::parse(text);
    const auto tree = ChatRequest::parse_tree(text);
    ASSERT_TRUE(scanned.ok() && tree.ok()) << text;
    ASSERT_NE(scanned->raw(), nullptr) << text;
    ASSERT_EQ(tree->raw(), nullptr) << text;
    for (const bool tools : {true, false}) {
      for (const bool temperature : {true, false}) {
        ProviderOptions o = options();
        o.supports_tools = tools;
        if (temperature) o.default_temperature = 0.25;
        const std::string relayed = openai_body_text(*scanned, o);
        const std::string rebuilt = openai_body_text(*tree, o);
        EXPECT_EQ(json::parse(relayed), json::parse(rebuilt)) << text;
        EXPECT_EQ(keys_of(relayed), keys_of(rebuilt)) << text;
        ++cases;
      }
    }
  }
  EXPECT_EQ(cases, 16);
  // The caller's own bytes: numbers keep their spelling.
  EXPECT_NE(openai_body_text(ChatRequest::parse(requests[0]).value(), options()).find("0.70"),
            std::string::npos);
}

TEST(OpenAiDecode, CompletionAndUsage) {
  auto r = OpenAiProvider(options()).decode(UpstreamResponse{200, {}, std::string(kCompletion)});
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(json::value(r->completion_object()), json::parse(kCompletion));
  EXPECT_EQ(r->text(), "Paris.");
  EXPECT_EQ(r->usage.prompt_tokens, 14);
  EXPECT_EQ(r->usage.completion_tokens, 2);
  EXPECT_EQ(r->usage.total_tokens, 16);
}

TEST(OpenAiDecode, ToleratesLeadingBlankLinesAndMissingTotal) {
  // DeepSeek sends empty lines while a request is queued.
  auto r = OpenAiProvider(options()).decode(
      UpstreamResponse{200,
                       {},
                       "\n\n\n"
                       R"({"choices":[],"usage":{"prompt_tokens":3,"completion_tokens":4}})"});
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->usage.total_tokens, 7);
}

TEST(OpenAiDecode, ErrorInsideA200BodyIsClassified) {
  auto r = OpenAiProvider(options()).decode(UpstreamResponse{
      200,
      {},
      R"({"error":{"message":"slow down","type":"requests","code":"rate_limit_exceeded"}})"});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().kind, ErrorKind::kRateLimited);
  EXPECT_EQ(r.error().key_action, KeyAction::kCooldown);
  EXPECT_EQ(r.error().source, "upstream:openai");
}

TEST(OpenAiDecode, AnAnswerChangedInNothingIsRelayedAsItsOwnBytes) {
  const std::string body =
      "{\"id\":\"c1\",\"object\":\"chat.completion\",\"choices\":[{\"index\":0,"
      "\"message\":{\"role\":\"assistant\",\"content\":\"hi\"},\"finish_reason\":"
      "\"stop\"}],\n \"usage\":{\"prompt_tokens\":3,\"completion_tokens\":1,"
      "\"total_tokens\":4}}";
  auto r = OpenAiProvider(options()).decode(UpstreamResponse{200, {}, body});
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->raw_json, body);
  // Relayed as is, the answer is never built into a tree; it can still be read as one.
  EXPECT_TRUE(r->completion.empty());
  EXPECT_EQ(json::parse(r->raw_json), json::value(r->completion_object()));
  EXPECT_EQ(r->text(), "hi");
  EXPECT_EQ(r->usage.total_tokens, 4);
}

TEST(OpenAiDecode, MalformedBodiesAreUpstreamErrors) {
  for (std::string_view body : {"not json", "[1,2]", R"({"choices":{}})", R"({"id":"x"})", ""}) {
    auto r = OpenAiProvider(options()).decode(UpstreamResponse{200, {}, std::string(body)});
    ASSERT_FALSE(r.ok()) << body;
    EXPECT_EQ(r.error().kind, ErrorKind::kUpstream) << body;
    EXPECT_TRUE(r.error().retryable) << body;
    EXPECT_EQ(r.error().source, "upstream:openai") << body;
  }
}

TEST(JoinUrl, StripsTrailingSlashes) {
  EXPECT_EQ(join_url("http://h:1/v1//", "/chat/completions"), "http://h:1/v1/chat/completions");
  EXPECT_EQ(join_url("http://h:1/v1", "/chat/completions"), "http://h:1/v1/chat/completions");
}

}  // namespace
}  // namespace bc::providers
