// OpenAI's stream decoder: chunks relayed as sent at every split, lent and merged runs, usage,
// in-stream errors and cut streams.
#include <optional>
#include <random>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <boost/json.hpp>

#include "core/json_text.h"
#include "core/mutate_for_tests.h"
#include "providers/openai.h"
#include "providers/stream_testing.h"

namespace bc::providers {
namespace {

namespace json = boost::json;
using testing::Decoded;
using testing::expect_split_invariant;

ProviderOptions options() {
  ProviderOptions o;
  o.model_name = "gpt";
  o.upstream_model = "gpt-4o-mini";
  return o;
}

// with a keep-alive comment, an obfuscation field, reasoning_content and CRLF lines.
const std::string kChunk1 =
    R"({"id":"chatcmpl-K0X","object":"chat.completion.chunk","created":1758884655,"model":"gpt-4o-mini","choices":[{"index":0,"delta":{"role":"assistant","content":"","refusal":null},"logprobs":null,"finish_reason":null}],"usage":null,"obfuscation":"LX9o"})";
const std::string kChunk2 =
    R"({"id":"chatcmpl-K0X","object":"chat.completion.chunk","created":1758884655,"model":"gpt-4o-mini","choices":[{"index":0,"delta":{"reasoning_content":"think","content":"Hel"},"logprobs":null,"finish_reason":null}],"usage":null})";
const std::string kChunk3 =
    R"({"id":"chatcmpl-K0X","object":"chat.completion.chunk","created":1758884655,"model":"gpt-4o-mini","choices":[{"index":0,"delta":{"content":"lo, 世界"},"logprobs":null,"finish_reason":null}],"usage":null})";
const std::string kChunk4 =
    R"({"id":"chatcmpl-K0X","object":"chat.completion.chunk","created":1758884655,"model":"gpt-4o-mini","choices":[{"index":0,"delta":{},"logprobs":null,"finish_reason":"stop"}],"usage":null})";
const std::string kChunk5 =
    R"({"id":"chatcmpl-K0X","object":"chat.completion.chunk","created":1758884655,"model":"gpt-4o-mini","choices":[],"usage":{"prompt_tokens":61,"completion_tokens":16,"total_tokens":77}})";

std::string stream_bytes() {
  return ": keep-alive\n\ndata: " + kChunk1 + "\n\ndata:" + kChunk2 +
         "\r\n\r\n: ping\ndata: " + kChunk3 + "\n\ndata: " + kChunk4 + "\n\ndata: " + kChunk5 +
         "\n\ndata: [DONE]\n\n";
}

testing::DecoderFactory openai_decoder() {
  return [] { return OpenAiProvider(options()).stream_decoder(); };
}

TEST(OpenAiStream, DecodesChunksRelayedByteForByte) {
  const Decoded d = testing::decode_whole(openai_decoder(), stream_bytes());
  ASSERT_FALSE(d.error) << d.error->message;
  EXPECT_TRUE(d.done);
  ASSERT_EQ(d.deltas.size(), 5u);
  EXPECT_EQ(d.deltas[0].chunk_json, kChunk1);
  EXPECT_EQ(d.deltas[1].chunk_json, kChunk2);
  EXPECT_EQ(d.deltas[2].chunk_json, kChunk3);
  EXPECT_EQ(d.deltas[4].chunk_json, kChunk5);
  EXPECT_EQ(d.deltas[0].text, "");
  EXPECT_EQ(d.deltas[1].text, "Hel");  // reasoning_content is not answer text
  EXPECT_EQ(d.deltas[2].text, "lo, 世界");
  EXPECT_EQ(d.deltas[3].finish_reason, "stop");
  EXPECT_EQ(d.deltas[2].finish_reason, "");
  EXPECT_FALSE(d.deltas[3].usage);
  ASSERT_TRUE(d.deltas[4].usage);
  EXPECT_EQ(d.deltas[4].usage->prompt_tokens, 61);
  EXPECT_EQ(d.deltas[4].usage->completion_tokens, 16);
  EXPECT_EQ(d.deltas[4].usage->total_tokens, 77);
}

TEST(OpenAiStream, SameChunksAtEverySplitAndByteByByte) {
  const Decoded d = expect_split_invariant(openai_decoder(), stream_bytes());
  EXPECT_EQ(d.deltas.size(), 5u);
}

// Feeds `body` cut at `split` to a decoder that lends its chunks (and merges runs, with
// `merge`), each piece in a buffer overwritten after use as a connection's read buffer is, and
// hands every delta to `check` with that buffer before the next feed, as the forwarder reads
// them.
template <class Check>
void feed_lent(const std::string& body, std::size_t split, bool merge, Check check) {
  OpenAiStreamDecoder decoder(openai_dialect());
  decoder.merge_runs(merge);
  std::string buffer;
  for (const auto piece :
       {std::string_view(body).substr(0, split), std::string_view(body).substr(split)}) {
    buffer.assign(piece);
    std::vector<RelayDelta> out;
    ASSERT_TRUE(decoder.feed_relay(buffer, out).ok());
    for (const auto& d : out) check(d, buffer);
    buffer.assign(buffer.size(), '#');
  }
}

// A decoder that lends its chunks hands out views of the bytes fed to it, never of its own
// buffers: each piece here sits in a buffer overwritten after use, as a connection's read
// buffer is, and every delta is read before the next feed, as the forwarder reads them.
TEST(OpenAiStream, LentChunksAreViewsOfTheFedBytesAtEverySplit) {
  const std::string body = stream_bytes();
  std::size_t lent = 0;
  std::size_t lent_events = 0;
  std::vector<std::string> whole_events;  // lent as whole events with the first split
  for (std::size_t split = 1; split < body.size(); ++split) {
    std::vector<std::string> chunks;
    feed_lent(body, split, false, [&](const RelayDelta& d, const std::string& buffer) {
      if (!d.lent_chunk.empty()) {
        ++lent;
        EXPECT_GE(d.lent_chunk.data(), buffer.data());
        EXPECT_LE(d.lent_chunk.data() + d.lent_chunk.size(), buffer.data() + buffer.size());
      }
      if (!d.lent_event.empty()) {
        // The whole event, exactly what the OpenAI sink would have framed, in the buffer.
        ++lent_events;
        EXPECT_EQ(d.lent_event, "data: " + std::string(d.chunk()) + "\n\n");
        EXPECT_GE(d.lent_event.data(), buffer.data());
        EXPECT_LE(d.lent_event.data() + d.lent_event.size(), buffer.data() + buffer.size());
        if (split == 1) whole_events.emplace_back(d.chunk());
      }
      chunks.emplace_back(d.chunk());
    });
    EXPECT_EQ(chunks, (std::vector<std::string>{kChunk1, kChunk2, kChunk3, kChunk4, kChunk5}))
        << "split at " << split;
    if (::testing::Test::HasFailure()) break;
  }
  EXPECT_GT(lent, body.size());  // most chunks were lent, not copied
  EXPECT_GT(lent_events, body.size());
  // The second chunk's event is `data:` with no space and CRLF endings: lent as a chunk only.
  EXPECT_EQ(whole_events, (std::vector<std::string>{kChunk1, kChunk3, kChunk4, kChunk5}));
  RelayDelta d;
  d.lent_chunk = kChunk1;
  d.lent_event = "data: " + kChunk1 + "\n\n";
  d.keep();
  EXPECT_TRUE(d.lent_chunk.empty());
  EXPECT_TRUE(d.lent_event.empty());
  EXPECT_EQ(d.chunk(), kChunk1);
}

// The usual run of chunks that differ only in their content string is read a whole event at
// a time (OpenAiStreamDecoder::whole_event). Every event that only looks like one of them
// must still be read as the SSE parser reads it: a named event, CRLF endings, `data:`
// without its space or with two, a second data line, a comment, a content string with a raw
// control character (malformed: the stream fails there), at every split.
std::string repeat_chunk(std::string_view content) {
  return R"({"id":"chatcmpl-R","object":"chat.completion.chunk","created":1,"model":"m","choices":[{"index":0,"delta":{"content":")" +
         std::string(content) + R"("},"logprobs":null,"finish_reason":null}]})";
}

TEST(OpenAiStream, ARunOfRepeatedChunksIsReadWholeLikeTheParserReadsIt) {
  const std::string body =
      "data: " + repeat_chunk("a") + "\n\ndata: " + repeat_chunk("b") +
      "\n\ndata: " + repeat_chunk(R"(\"q\" \n \u4e16)") + "\n\ndata: " + repeat_chunk("") +
      "\n\ndata: " + repeat_chunk("c") + "\r\n\r\ndata:" + repeat_chunk("d") +
      "\n\ndata:  " + repeat_chunk("e") + "\n\n: ping\ndata: " + repeat_chunk("f") +
      "\n\nid: 7\n\ndata: " + repeat_chunk("g") + "\n\nevent: delta\ndata: " + repeat_chunk("h") +
      "\n\ndata: " + repeat_chunk("k") + "\n\ndata: " + repeat_chunk("l") + "\n\ndata: [DONE]\n\n";
  const Decoded d = expect_split_invariant(openai_decoder(), body);
  ASSERT_FALSE(d.error) << d.error->message;
  EXPECT_TRUE(d.done);
  std::vector<std::string> texts;
  for (const auto& delta : d.deltas) texts.push_back(delta.text);
  EXPECT_EQ(texts, (std::vector<std::string>{"a", "b", "\"q\" \n 世", "", "c", "d", "e", "f", "g",
                                             "h", "k", "l"}))
      << d.deltas.size();
  EXPECT_EQ(d.deltas[1].chunk_json, repeat_chunk("b"));
  EXPECT_EQ(d.deltas[6].chunk_json, repeat_chunk("e"));  // trimmed: the same bytes

  // Read whole: every ordinary chunk framed as the client gets it (the first scanned in full,
  // the repeats by their content), not [DONE] or a chunk with a CR or spaces around it.
  auto decoder = openai_decoder()();
  std::vector<ChatDelta> out;
  const std::string run = "data: " + repeat_chunk("a") + "\n\ndata: " + repeat_chunk("b") +
                          "\n\ndata: " + kChunk5 + "\n\ndata: " + kChunk5 + " \n\ndata: " +
                          "{\"object\":\"chat.completion.chunk\",\r\"choices\":[]}" +
                          "\n\ndata: [DONE]\n\n";
  ASSERT_TRUE(decoder->feed(run, out).ok());
  EXPECT_EQ(static_cast<OpenAiStreamDecoder&>(*decoder).events_read_whole(), 3u);
  ASSERT_EQ(out.size(), 5u);
  EXPECT_EQ(out[3].chunk_json, kChunk5);  // trimmed
  EXPECT_TRUE(out[3].usage);
  EXPECT_EQ(out[4].chunk_json, R"({"object":"chat.completion.chunk","choices":[]})");  // rewritten

  // A named event is the parser's, whatever its data: an error report is never relayed, also
  // when a feed ends right after its name (the next then starts with a repeat's line).
  const Decoded named =
      expect_split_invariant(openai_decoder(), "data: " + repeat_chunk("a") +
                                                   "\n\nevent: error\ndata: " + repeat_chunk("b") +
                                                   "\n\ndata: [DONE]\n\n");
  ASSERT_TRUE(named.error);
  EXPECT_EQ(named.deltas.size(), 1u);

  // A repeat's line followed by a second data line: one event, two objects, malformed.
  const Decoded joined = testing::decode_whole(
      openai_decoder(), "data: " + repeat_chunk("a") + "\n\ndata: " + repeat_chunk("b") +
                            "\ndata: " + repeat_chunk("c") + "\n\ndata: [DONE]\n\n");
  ASSERT_TRUE(joined.error);
  EXPECT_EQ(joined.deltas.size(), 1u);

  // A raw control character in the content string: not a repeat, and malformed.
  const Decoded bad = testing::decode_whole(
      openai_decoder(),
      "data: " + repeat_chunk("a") + "\n\ndata: " + repeat_chunk("x\ty") + "\n\ndata: [DONE]\n\n");
  ASSERT_TRUE(bad.error);
  EXPECT_EQ(bad.deltas.size(), 1u);
}

// Fed whole, a run of repeats is read an event at a time; fed byte by byte, never (no feed
// holds a whole event), so the SSE parser reads it. Mutated runs must decode the same both
// ways: chunks, texts, errors.
TEST(OpenAiStream, MutatedRunsOfRepeatsDecodeAsTheParserReadsThem) {
  std::string run;
  for (const char* content : {"a", "bb", "", "c\\\"d", "e"}) {
    run += "data: " + repeat_chunk(content) + "\n\n";
  }
  run += "data: [DONE]\n\n";
  std::mt19937 rng(7);
  std::size_t read_whole = 0;
  for (int i = 0; i < 1500; ++i) {
    const std::string body = bc::testing::mutate(run, rng, "\n\r :\"\\{}a,d", 3, 3);
    std::vector<std::string_view> bytewise;
    for (std::size_t b = 0; b < body.size(); ++b)
      bytewise.push_back(std::string_view(body).substr(b, 1));
    expect_same(testing::decode_whole(openai_decoder(), body),
                testing::decode_pieces(openai_decoder(), bytewise), body);
    if (::testing::Test::HasFailure()) break;
    auto decoder = openai_decoder()();
    std::vector<ChatDelta> out;
    (void)decoder->feed(body, out);
    read_whole += static_cast<OpenAiStreamDecoder&>(*decoder).events_read_whole();
  }
  EXPECT_GT(read_whole, 1500u);  // most runs still had repeats read whole
}

// With lent chunks and merge_runs, a run of ordinary content chunks that one feed brought comes
// as one delta: its events back to back, its text joined. Taken apart again, the deltas must be
// the plain decoding's at every split, each piece in a buffer overwritten after use.
TEST(OpenAiStream, MergedRunsAreThePlainChunksBackToBack) {
  std::string finish = repeat_chunk("");
  finish.replace(finish.find(R"("delta":{"content":""})"), 22, R"("delta":{})");
  finish.replace(finish.find(R"("finish_reason":null)"), 20, R"("finish_reason":"stop")");
  std::string body = "data: " + kChunk1 + "\n\n";
  for (const char* content : {"a", "b", "", "c\\n", "d", "e"}) {
    body += "data: " + repeat_chunk(content) + "\n\n";
  }
  body += "data: " + finish + "\n\ndata: " + kChunk5 + "\n\ndata: [DONE]\n\n";
  const Decoded plain = testing::decode_whole(openai_decoder(), body);
  ASSERT_FALSE(plain.error);
  ASSERT_EQ(plain.deltas.size(), 9u);
  for (std::size_t split = 1; split <= body.size(); ++split) {
    std::size_t next = 0;  // the plain delta the next merged one starts at
    std::size_t deltas = 0;
    feed_lent(body, split, true, [&](const RelayDelta& d, const std::string& buffer) {
      ++deltas;
      ASSERT_LE(next + d.chunks, plain.deltas.size()) << "split at " << split;
      std::string events;
      std::string text;
      for (std::size_t k = next; k < next + d.chunks; ++k) {
        events += "data: " + plain.deltas[k].chunk_json + "\n\n";
        text += plain.deltas[k].text;
        EXPECT_EQ(d.finish_reason, plain.deltas[k].finish_reason) << "split at " << split;
        EXPECT_TRUE(testing::same_usage(d.usage, plain.deltas[k].usage)) << "split at " << split;
      }
      EXPECT_EQ(d.text, text) << "split at " << split;
      EXPECT_EQ(d.chunk(), plain.deltas[next].chunk_json) << "split at " << split;
      if (d.chunks > 1) {
        EXPECT_EQ(d.lent_event, events) << "split at " << split;
        EXPECT_FALSE(d.text.empty());
        EXPECT_GE(d.lent_event.data(), buffer.data());
        EXPECT_LE(d.lent_event.data() + d.lent_event.size(), buffer.data() + buffer.size());
      }
      next += d.chunks;
    });
    EXPECT_EQ(next, plain.deltas.size()) << "split at " << split;
    // Whole, the five chunks after "a" join it: role, one run of six, finish, usage.
    if (split == body.size()) {
      EXPECT_EQ(deltas, 4u);
    }
    if (::testing::Test::HasFailure()) break;
  }
}

TEST(OpenAiStream, AChunkSpreadOverSeveralDataLinesIsRewrittenOnOneLine) {
  // SSE joins the `data:` lines of one event with a line feed; relaying that
  // text raw would end the client's event in the middle of the JSON.
  const Decoded d =
      testing::decode_whole(openai_decoder(),
                            "data: {\"object\":\"chat.completion.chunk\",\n"
                            "data:  \"choices\":[{\"index\":0,\"delta\":{\"content\":\"hi\"}}]}\n\n"
                            "data: [DONE]\n\n");
  ASSERT_FALSE(d.error) << d.error->message;
  ASSERT_EQ(d.deltas.size(), 1u);
  EXPECT_EQ(d.deltas[0].chunk_json.find_first_of("\r\n"), std::string::npos)
      << d.deltas[0].chunk_json;
  EXPECT_EQ(d.deltas[0].text, "hi");
  EXPECT_EQ(json::parse(d.deltas[0].chunk_json).at("choices").at(0).at("delta").at("content"),
            json::value("hi"));
}

TEST(OpenAiStream, ConcatenatesTextOfAllChoices) {
  const Decoded d = testing::decode_whole(
      openai_decoder(),
      R"(data: {"object":"chat.completion.chunk","choices":[{"index":0,"delta":{"content":"a"}},{"index":1,"delta":{"content":"b"},"finish_reason":"length"}]})"
      "\n\ndata: [DONE]\n\n");
  ASSERT_FALSE(d.error);
  ASSERT_EQ(d.deltas.size(), 1u);
  EXPECT_EQ(d.deltas[0].text, "ab");
  EXPECT_EQ(d.deltas[0].finish_reason, "length");
}

TEST(OpenAiStream, ChunksLargerThanTheParseArenaDecodeAndReserializeWhole) {
  // The decoder parses chunks in a reused per-thread arena of 8 KiB; bigger trees spill to
  // the heap and must come out whole, also when the chunk is rewritten (no `object`).
  const std::string big(20000, 'x');
  std::string bytes;
  for (int i = 0; i < 3; ++i) {
    bytes += R"(data: {"choices":[{"index":0,"delta":{"content":")" + big + R"("}}]})" + "\n\n";
    bytes +=
        R"(data: {"object":"chat.completion.chunk","choices":[{"index":0,"delta":{"content":"y"}}]})"
        "\n\n";
  }
  bytes += "data: [DONE]\n\n";
  const Decoded d = testing::decode_whole(openai_decoder(), bytes);
  ASSERT_FALSE(d.error);
  ASSERT_EQ(d.deltas.size(), 6u);
  for (std::size_t i = 0; i < d.deltas.size(); i += 2) {
    EXPECT_EQ(d.deltas[i].text, big);
    const json::value chunk = json::parse(d.deltas[i].chunk_json);
    EXPECT_EQ(chunk.at("object"), json::value("chat.completion.chunk"));
    EXPECT_EQ(chunk.at("choices").at(0).at("delta").at("content").as_string(), big);
    EXPECT_EQ(d.deltas[i + 1].text, "y");
  }
}

TEST(OpenAiStream, NormalizesAUsageChunkWithoutChoices) {
  const Decoded d = testing::decode_whole(
      openai_decoder(),
      R"(data: {"id":"x","object":"chat.completion.chunk","choices":null,"usage":{"prompt_tokens":1,"completion_tokens":2,"total_tokens":3}})"
      "\n\n"
      R"(data: {"id":"x","usage":{"prompt_tokens":1,"completion_tokens":2,"total_tokens":3}})"
      "\n\ndata: [DONE]\n\n");
  ASSERT_FALSE(d.error);
  ASSERT_EQ(d.deltas.size(), 2u);
  for (const auto& delta : d.deltas) {
    const json::value chunk = json::parse(delta.chunk_json);
    EXPECT_EQ(chunk.at("choices"), json::array()) << delta.chunk_json;
    EXPECT_EQ(chunk.at("object"), json::value("chat.completion.chunk")) << delta.chunk_json;
    ASSERT_TRUE(delta.usage);
    EXPECT_EQ(delta.usage->total_tokens, 3);
  }
}

TEST(OpenAiStream, ReadsUsageInsideTheFinishingChoice) {
  // Moonshot puts usage in choices[0].
  const Decoded d = testing::decode_whole(
      openai_decoder(),
      R"(data: {"object":"chat.completion.chunk","choices":[{"index":0,"delta":{},"finish_reason":"stop","usage":{"prompt_tokens":5,"completion_tokens":6,"total_tokens":11}}]})"
      "\n\ndata: [DONE]\n\n");
  ASSERT_EQ(d.deltas.size(), 1u);
  ASSERT_TRUE(d.deltas[0].usage);
  EXPECT_EQ(d.deltas[0].usage->total_tokens, 11);
}

TEST(OpenAiStream, ErrorInsideTheStreamEndsItAfterTheEarlierChunks) {
  const std::string bytes = "data: " + kChunk1 +
                            "\n\ndata: {\"error\":{\"message\":\"The server had an error while "
                            "processing your request.\",\"type\":\"server_error\"}}\n\n";
  const Decoded d = expect_split_invariant(openai_decoder(), bytes);
  ASSERT_TRUE(d.error);
  EXPECT_EQ(d.deltas.size(), 1u);
  EXPECT_EQ(d.error->kind, ErrorKind::kUpstream);
  EXPECT_EQ(d.error->source, "upstream:openai");
  EXPECT_NE(d.error->message.find("The server had an error"), std::string::npos);
  EXPECT_FALSE(d.done);
}

TEST(OpenAiStream, RateLimitInsideTheStreamIsClassified) {
  const Decoded d = testing::decode_whole(
      openai_decoder(),
      R"(data: {"error":{"message":"Rate limit","type":"requests","code":"rate_limit_exceeded"}})"
      "\n\n");
  ASSERT_TRUE(d.error);
  EXPECT_EQ(d.error->kind, ErrorKind::kRateLimited);
}

TEST(OpenAiStream, CutStreamIsARetryableUpstreamError) {
  for (const std::string& bytes :
       {"data: " + kChunk1 + "\n\n", "data: " + kChunk1 + "\n\ndata: " + kChunk2.substr(0, 40),
        std::string()}) {
    const Decoded d = expect_split_invariant(openai_decoder(), bytes);
    ASSERT_TRUE(d.error) << bytes;
    EXPECT_EQ(d.error->message, "upstream stream ended before [DONE]");
    EXPECT_EQ(d.error->kind, ErrorKind::kUpstream);
    EXPECT_TRUE(d.error->retryable);
    EXPECT_EQ(d.error->source, "upstream:openai");
    EXPECT_FALSE(d.done);
    EXPECT_EQ(d.deltas.size(), bytes.empty() ? 0u : 1u);
  }
}

TEST(OpenAiStream, DoneWithoutTheClosingEmptyLineEndsTheStream) {
  const Decoded d =
      expect_split_invariant(openai_decoder(), "data: " + kChunk1 + "\n\ndata: [DONE]");
  EXPECT_FALSE(d.error);
  EXPECT_TRUE(d.done);
  EXPECT_EQ(d.deltas.size(), 1u);
}

TEST(OpenAiStream, MalformedChunksAreErrors) {
  for (std::string_view bad : {"data: {not json}\n\n", "data: [1,2]\n\n", "data: \"text\"\n\n",
                               "data: {\"choices\":{}}\n\n"}) {
    const Decoded d = testing::decode_whole(openai_decoder(), bad);
    ASSERT_TRUE(d.error) << bad;
    EXPECT_EQ(d.error->kind, ErrorKind::kUpstream) << bad;
    EXPECT_EQ(d.error->source, "upstream:openai") << bad;
    EXPECT_TRUE(d.deltas.empty());
  }
}

TEST(OpenAiStream, OversizedEventIsAnError) {
  const std::string huge = "data: {\"x\":\"" + std::string(SseParser::kDefaultMaxEventBytes, 'a');
  const Decoded d = testing::decode_whole(openai_decoder(), huge);
  ASSERT_TRUE(d.error);
  EXPECT_EQ(d.error->source, "upstream:openai");
}

TEST(OpenAiStream, IgnoresBytesAfterDoneAndStaysFailedAfterAnError) {
  auto decoder = OpenAiProvider(options()).stream_decoder();
  std::vector<ChatDelta> out;
  ASSERT_TRUE(decoder->feed("data: [DONE]\n\ndata: garbage\n\n", out));
  EXPECT_TRUE(decoder->done());
  EXPECT_TRUE(decoder->feed("data: more garbage\n\n", out));
  EXPECT_TRUE(decoder->finish(out));
  EXPECT_TRUE(out.empty());

  auto failing = OpenAiProvider(options()).stream_decoder();
  EXPECT_FALSE(failing->feed("data: {oops\n\n", out));
  EXPECT_FALSE(failing->feed("data: " + kChunk1 + "\n\n", out));
  EXPECT_FALSE(failing->finish(out));
  EXPECT_TRUE(out.empty());
}

}  // namespace
}  // namespace bc::providers
