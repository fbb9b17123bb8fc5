#include "providers/mock.h"

#include <gtest/gtest.h>
#include <boost/json.hpp>

#include "providers/mock_answer.h"
#include "providers/stream_testing.h"

namespace bc::providers {
namespace {

namespace json = boost::json;

json::object body(std::string_view text) {
  return json::parse(text).as_object();
}

const json::object kRequest =
    body(R"({"messages":[{"role":"system","content":"Be brief."},)"
         R"({"role":"user","content":"What is the capital of France? Answer in one word please."},)"
         R"({"role":"assistant","content":"Paris"},)"
         R"({"role":"user","content":[{"type":"text","text":"And of Italy?"}]}]})");

MockAnswer answer(const json::object& request = kRequest, MockOptions opts = {}) {
  return make_mock_answer(request, opts, "demo-fast", "chatcmpl-mock-1", 1758884655);
}

std::string joined(const std::vector<std::string>& events) {
  std::string out;
  for (const auto& e : events) out += e;
  return out;
}

TEST(MockAnswer, IsDeterministic) {
  EXPECT_EQ(mock_completion_json(answer()), mock_completion_json(answer()));
  EXPECT_EQ(mock_sse_events(answer()), mock_sse_events(answer()));
}

TEST(MockAnswer, DefaultTextNamesTheModelAndTheLastUserMessage) {
  EXPECT_EQ(answer().text(), "This is a mock answer from demo-fast to: And of Italy?");
  const MockAnswer long_prompt = answer(body(
      R"({"messages":[{"role":"user","content":"Ünïcödé sentence that is clearly longer than forty characters"}]})"));
  EXPECT_EQ(long_prompt.text(),
            "This is a mock answer from demo-fast to: Ünïcödé sentence that is clearly longer ");
}

TEST(MockAnswer, FixedReplyAndTokenPieces) {
  MockOptions opts;
  opts.reply = "Hello there, general Kenobi";
  const MockAnswer a = answer(kRequest, opts);
  EXPECT_EQ(a.pieces, (std::vector<std::string>{"Hello", " there,", " general", " Kenobi"}));
  EXPECT_EQ(a.finish_reason, "stop");
  // Long words are cut like a tokenizer would, and nothing is lost.
  opts.reply = "supercalifragilistic 你好世界你好世界你好";
  const MockAnswer b = answer(kRequest, opts);
  EXPECT_EQ(b.text(), opts.reply);
  EXPECT_GT(b.pieces.size(), 4u);
}

TEST(MockAnswer, UsageCountsPromptCharactersAndPieces) {
  const MockAnswer a = answer();
  // 9 + 57 + 5 + 13 = 84 characters of message text: 84 / 4.
  EXPECT_EQ(a.usage.prompt_tokens, 21);
  EXPECT_EQ(a.usage.completion_tokens, static_cast<std::int64_t>(a.pieces.size()));
  EXPECT_EQ(a.usage.total_tokens, a.usage.prompt_tokens + a.usage.completion_tokens);
}

TEST(MockAnswer, MaxTokensCutsTheAnswer) {
  const MockAnswer a =
      answer(body(R"({"messages":[{"role":"user","content":"x"}],"max_tokens":3})"));
  EXPECT_EQ(a.pieces.size(), 3u);
  EXPECT_EQ(a.finish_reason, "length");
  EXPECT_EQ(a.text(), "This is a");
}

TEST(MockAnswer, CompletionIsAnOpenAiChatCompletion) {
  MockOptions opts;
  opts.reply = "Rome.";
  const json::value got = json::parse(mock_completion_json(answer(kRequest, opts)));
  EXPECT_EQ(
      got, json::parse(
               R"({"id":"chatcmpl-mock-1","object":"chat.completion",)"
               R"("created":1758884655,"model":"demo-fast","choices":[{"index":0,)"
               R"("message":{"role":"assistant","content":"Rome.","refusal":null},"logprobs":null,)"
               R"("finish_reason":"stop"}],"usage":{"prompt_tokens":21,)"
               R"("completion_tokens":1,"total_tokens":22}})"));
}

TEST(MockAnswer, SseEventsAreCompleteAndEndWithDone) {
  MockOptions opts;
  opts.reply = "Rome is";
  const auto events = mock_sse_events(answer(kRequest, opts));
  ASSERT_EQ(events.size(), 6u);  // role, "Rome", " is", finish, usage, [DONE]
  for (const auto& e : events) {
    EXPECT_EQ(e.rfind("data: ", 0), 0u) << e;
    EXPECT_EQ(e.substr(e.size() - 2), "\n\n") << e;
  }
  EXPECT_EQ(events.back(), "data: [DONE]\n\n");
  const json::value role = json::parse(events[0].substr(6));
  EXPECT_EQ(role.at("choices").at(0).at("delta"),
            json::parse(R"({"role":"assistant","content":""})"));
  const json::value finish = json::parse(events[3].substr(6));
  EXPECT_EQ(finish.at("choices").at(0).at("finish_reason"), json::value("stop"));
  EXPECT_FALSE(finish.as_object().contains("usage"));
  const json::value usage = json::parse(events[4].substr(6));
  EXPECT_TRUE(usage.at("choices").as_array().empty());  // OpenAI's include_usage chunk
  EXPECT_EQ(usage.at("usage").at("completion_tokens"), json::value(2));
}

ProviderOptions mock_options() {
  ProviderOptions o;
  o.model_name = "demo-fast";
  o.upstream_model = "mock-1";
  o.default_temperature = 0.7;
  return o;
}

TEST(MockProvider, EncodesToTheInProcessUpstream) {
  auto p = make_mock(mock_options());
  auto req = ChatRequest::parse(
      R"({"model":"demo-fast","stream":true,"messages":[{"role":"user","content":"hi"}]})");
  ASSERT_TRUE(req.ok());
  auto r = p->encode(*req, Credential{"mock-key-000000", "k"});
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->url, "mock://demo-fast");
  EXPECT_TRUE(r->stream);
  EXPECT_EQ(
      json::parse(r->body),
      json::parse(R"({"model":"mock-1","stream":true,"stream_options":{"include_usage":true},)"
                  R"("temperature":0.7,"messages":[{"role":"user","content":"hi"}]})"));
}

TEST(MockProvider, CarriesItsModelsOptionsToTheUpstream) {
  auto req = ChatRequest::parse(R"({"messages":[{"role":"user","content":"hi"}]})");
  ASSERT_TRUE(req.ok());
  ProviderOptions o = mock_options();
  o.own_options = MockOptions{0, 12.5, "fixed, with a comma"};
  auto r = make_mock(o)->encode(*req, Credential{"mock", "mock"});
  ASSERT_TRUE(r.ok());
  const MockOptions read = mock_options_of(*r);
  EXPECT_EQ(read.latency_ms, 0);
  EXPECT_EQ(read.tokens_per_second, 12.5);
  EXPECT_EQ(read.reply, "fixed, with a comma");
  // No options of its own (a model made without the loader): the defaults travel.
  auto plain = make_mock(mock_options())->encode(*req, Credential{"mock", "mock"});
  ASSERT_TRUE(plain.ok());
  EXPECT_EQ(mock_options_of(*plain).latency_ms, MockOptions{}.latency_ms);
  EXPECT_EQ(mock_options_of(*plain).tokens_per_second, MockOptions{}.tokens_per_second);
  EXPECT_EQ(mock_options_of(*plain).reply, "");
}

TEST(MockProvider, StreamTextEqualsTheNonStreamAnswer) {
  auto p = make_mock(mock_options());
  for (const auto& request :
       {kRequest,
        body(R"({"messages":[{"role":"user","content":"天气怎么样？"}],"max_tokens":6})")}) {
    const MockAnswer a = answer(request);
    auto decoded = p->decode(UpstreamResponse{200, {}, mock_completion_json(a)});
    ASSERT_TRUE(decoded.ok()) << decoded.error().message;

    const testing::Decoded d = testing::expect_split_invariant([&] { return p->stream_decoder(); },
                                                               joined(mock_sse_events(a)));
    ASSERT_FALSE(d.error) << d.error->message;
    EXPECT_TRUE(d.done);
    std::string text;
    std::string finish;
    std::optional<Usage> usage;
    for (const auto& delta : d.deltas) {
      text += delta.text;
      if (!delta.finish_reason.empty()) finish = delta.finish_reason;
      if (delta.usage) usage = delta.usage;
    }
    EXPECT_EQ(text, decoded->text());
    EXPECT_EQ(text, a.text());
    EXPECT_EQ(finish, a.finish_reason);
    ASSERT_TRUE(usage);
    EXPECT_EQ(usage->total_tokens, decoded->usage.total_tokens);
    EXPECT_EQ(usage->completion_tokens, static_cast<std::int64_t>(a.pieces.size()));
  }
}

TEST(MockProvider, ErrorsNameTheMockSource) {
  EXPECT_EQ(make_mock(mock_options())->classify(500, {}, "").source, "upstream:mock");
}

}  // namespace
}  // namespace bc::providers
