#include "providers/sse.h"

#include <gtest/gtest.h>

namespace bc::providers {
namespace {

struct Parsed {
  std::vector<SseEvent> events;
  bool ok = true;
};

Parsed parse_pieces(const std::vector<std::string_view>& pieces, bool finish = false,
                    std::size_t limit = SseParser::kDefaultMaxEventBytes) {
  SseParser parser(limit);
  Parsed p;
  for (auto piece : pieces) {
    if (!parser.feed(piece, p.events)) {
      p.ok = false;
      return p;
    }
  }
  if (finish && !parser.finish(p.events)) p.ok = false;
  return p;
}

Parsed parse(std::string_view bytes, bool finish = false) {
  return parse_pieces({bytes}, finish);
}

std::vector<std::string> datas(const Parsed& p) {
  std::vector<std::string> out;
  for (const auto& e : p.events) out.push_back(e.data);
  return out;
}

using Strings = std::vector<std::string>;

TEST(SseParser, ParsesDataAndEventNames) {
  const Parsed p = parse("event: message_start\ndata: {\"a\":1}\n\ndata: {\"b\":2}\n\n");
  ASSERT_TRUE(p.ok);
  ASSERT_EQ(p.events.size(), 2u);
  EXPECT_EQ(p.events[0].name, "message_start");
  EXPECT_EQ(p.events[0].data, "{\"a\":1}");
  EXPECT_EQ(p.events[1].name, "");  // the name does not carry over to the next event
  EXPECT_EQ(p.events[1].data, "{\"b\":2}");
}

TEST(SseParser, DataSpaceAfterColonIsOptionalAndOnlyOneIsDropped) {
  EXPECT_EQ(datas(parse("data:{}\n\ndata: {}\n\ndata:  x\n\n")), (Strings{"{}", "{}", " x"}));
}

TEST(SseParser, DropsOneTrailingCrPerLine) {
  EXPECT_EQ(datas(parse("data: a\r\n\r\ndata: b\r\r\n\r\n")), (Strings{"a", "b\r"}));
}

TEST(SseParser, IgnoresCommentsAndKeepAliveBlocks) {
  EXPECT_EQ(datas(parse(": keep-alive\n\n: OPENROUTER PROCESSING\ndata: x\n\n")), Strings{"x"});
}

TEST(SseParser, JoinsMultipleDataLinesWithLf) {
  EXPECT_EQ(datas(parse("data: one\ndata:two\ndata: \n\n")), Strings{"one\ntwo\n"});
}

TEST(SseParser, EventWithoutDataIsNotDispatched) {
  const Parsed p = parse("event: ping\n\ndata:\n\n");
  ASSERT_EQ(p.events.size(), 1u);
  EXPECT_EQ(p.events[0].data, "");
  EXPECT_EQ(p.events[0].name, "");
}

TEST(SseParser, IgnoresIdRetryAndUnknownFields) {
  EXPECT_EQ(datas(parse("id: 7\nretry: 100\nfoo: bar\nnocolon\ndata: x\n\n")), Strings{"x"});
}

TEST(SseParser, WaitsForTheEmptyLine) {
  SseParser parser;
  std::vector<SseEvent> out;
  ASSERT_TRUE(parser.feed("data: x\n", out));
  EXPECT_TRUE(out.empty());
  ASSERT_TRUE(parser.feed("\n", out));
  EXPECT_EQ(out.size(), 1u);
}

TEST(SseParser, FinishDispatchesAnUnterminatedLastEvent) {
  EXPECT_EQ(datas(parse("data: a\n\ndata: [DONE]", true)), (Strings{"a", "[DONE]"}));
  EXPECT_EQ(datas(parse("data: a\n", true)), Strings{"a"});
  EXPECT_TRUE(parse(": only a comment", true).events.empty());
}

TEST(SseParser, SameEventsAtEverySplitAndByteByByte) {
  const std::string bytes =
      ": keep-alive\r\n\r\nevent: delta\r\ndata: {\"x\":\"a b\"}\r\n\r\n"
      "data:{\"y\":1}\ndata: {\"z\":2}\n\nid: 3\n\ndata: [DONE]\n\n";
  const Parsed whole = parse(bytes);
  ASSERT_EQ(whole.events.size(), 3u);
  auto same = [&](const Parsed& p, const std::string& how) {
    ASSERT_TRUE(p.ok) << how;
    ASSERT_EQ(p.events.size(), whole.events.size()) << how;
    for (std::size_t i = 0; i < p.events.size(); ++i) {
      EXPECT_EQ(p.events[i].name, whole.events[i].name) << how;
      EXPECT_EQ(p.events[i].data, whole.events[i].data) << how;
    }
  };
  const std::string_view v = bytes;
  for (std::size_t a = 0; a <= v.size(); ++a) {
    for (std::size_t b = a; b <= v.size(); ++b) {
      same(parse_pieces({v.substr(0, a), v.substr(a, b - a), v.substr(b)}),
           "cuts at " + std::to_string(a) + "," + std::to_string(b));
      if (HasFailure()) return;
    }
  }
  std::vector<std::string_view> bytewise;
  for (std::size_t i = 0; i < v.size(); ++i) bytewise.push_back(v.substr(i, 1));
  same(parse_pieces(bytewise), "byte by byte");
}

TEST(SseParser, LineLongerThanTheLimitIsAnError) {
  const std::string line(65, 'x');
  EXPECT_FALSE(parse_pieces({line}, false, 64).ok);                    // no LF yet
  EXPECT_FALSE(parse_pieces({"data: " + line + "\n"}, false, 64).ok);  // whole line
  EXPECT_FALSE(parse_pieces({line.substr(0, 30), line.substr(30) + "\n"}, false, 64).ok);
  EXPECT_TRUE(parse_pieces({std::string(60, 'x') + "\n"}, false, 64).ok);
}

TEST(SseParser, EventLongerThanTheLimitIsAnError) {
  std::string bytes;
  for (int i = 0; i < 10; ++i) bytes += "data: 0123456789\n";  // lines fit, the event does not
  EXPECT_FALSE(parse_pieces({bytes}, false, 64).ok);
  EXPECT_TRUE(parse_pieces({bytes}, false, 200).ok);
}

TEST(SseParser, StaysFailedAfterAnError) {
  SseParser parser(8);
  std::vector<SseEvent> out;
  EXPECT_FALSE(parser.feed("0123456789", out));
  EXPECT_FALSE(parser.feed("data: x\n\n", out));
  EXPECT_FALSE(parser.finish(out));
  EXPECT_TRUE(out.empty());
}

TEST(SseParser, NextHandsOutAOneLineEventAsAViewOfTheCallersBytes) {
  SseParser parser;
  const std::string body = "data: {\"a\":1}\n\nevent: e\ndata: x\ndata: y\n\n";
  std::string_view bytes = body;
  auto first = parser.next(bytes);
  ASSERT_TRUE(first.ok());
  ASSERT_TRUE(first->has_value());
  EXPECT_EQ((*first)->data, "{\"a\":1}");
  EXPECT_EQ((*first)->name, "");
  // No copy: the data lies inside the caller's bytes.
  EXPECT_GE((*first)->data.data(), body.data());
  EXPECT_LE((*first)->data.data() + (*first)->data.size(), body.data() + body.size());
  auto second = parser.next(bytes);
  ASSERT_TRUE(second.ok() && second->has_value());
  EXPECT_EQ((*second)->name, "e");
  EXPECT_EQ((*second)->data, "x\ny");
  auto none = parser.next(bytes);
  ASSERT_TRUE(none.ok());
  EXPECT_FALSE(none->has_value());
  EXPECT_TRUE(bytes.empty());
}

TEST(SseParser, NextKeepsAnEventWhoseBytesRanOutBeforeItsEnd) {
  SseParser parser;
  std::string piece = "data: first half\n";
  std::string_view bytes = piece;
  auto none = parser.next(bytes);
  ASSERT_TRUE(none.ok());
  EXPECT_FALSE(none->has_value());
  piece.assign(piece.size(), '#');  // the caller's buffer is reused for the next read
  std::string_view rest = "\n";
  auto ev = parser.next(rest);
  ASSERT_TRUE(ev.ok() && ev->has_value());
  EXPECT_EQ((*ev)->data, "first half");
}

TEST(SseParser, AnEventFramedAsARelayWouldIsHandedOutWhole) {
  // Only `data: <data>` LF LF, with no name and one space, is the form a relay writes.
  const std::string bytes =
      "data: {\"a\":1}\n\n"      // canonical
      "data:{\"b\":2}\n\n"       // no space after the colon
      "data: {\"c\":3}\r\n\r\n"  // CRLF endings
      "event: x\ndata: {\"d\":4}\n\n"
      "data:  {\"e\":5}\n\n"  // two spaces: the data keeps one, and a relay writes both
      "data: {\"f\":6}\n\n";
  SseParser parser;
  std::string_view rest = bytes;
  std::vector<std::pair<std::string, std::string>> seen;  // data, raw
  for (;;) {
    auto ev = parser.next(rest);
    ASSERT_TRUE(ev.ok());
    if (!*ev) break;
    seen.emplace_back(std::string((*ev)->data), std::string((*ev)->raw));
  }
  const std::vector<std::pair<std::string, std::string>> expected = {
      {"{\"a\":1}", "data: {\"a\":1}\n\n"},
      {"{\"b\":2}", ""},
      {"{\"c\":3}", ""},
      {"{\"d\":4}", ""},
      {" {\"e\":5}", "data:  {\"e\":5}\n\n"},
      {"{\"f\":6}", "data: {\"f\":6}\n\n"},
  };
  EXPECT_EQ(seen, expected);
}

}  // namespace
}  // namespace bc::providers
