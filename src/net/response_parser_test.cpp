#include "net/response_parser.h"

#include <gtest/gtest.h>

#include <random>
#include <string>
#include <vector>

#include "core/mutate_for_tests.h"
#include "net/response_parse_compare.h"

namespace bc::net {
namespace {

using testing::parse_pieces;
using testing::ParseOutcome;

ParseOutcome ours(const std::vector<std::string_view>& pieces, bool head = false,
                  std::uint32_t limit = 8192) {
  return parse_pieces<ResponseParser>(pieces, head, limit);
}
ParseOutcome beast(const std::vector<std::string_view>& pieces, bool head = false,
                   std::uint32_t limit = 8192) {
  return parse_pieces<BeastResponseParser>(pieces, head, limit);
}

std::string describe(const ParseOutcome& o) {
  std::string s = (o.ok ? "ok" : "error '" + o.error + "'") + " status " +
                  std::to_string(o.status) + " keep-alive " + (o.keep_alive ? "yes" : "no") +
                  " used " + std::to_string(o.used) + " body '" + o.body + "' fields";
  for (const auto& h : o.headers) s += " [" + h.name + ": " + h.value + "]";
  return s;
}

// Well-formed answers of every framing, each followed by bytes of a next answer that must
// stay unread.
const std::vector<std::string> kValid = {
    "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 11\r\n\r\n"
    "{\"ok\":true}",
    "HTTP/1.1 200 OK\r\nServer: nginx\r\nDate: Sun, 29 Nov 2026 10:16:03 GMT\r\nContent-Length: "
    "0\r\nConnection: keep-alive\r\n\r\n",
    "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Type: text/event-stream\r\n\r\n"
    "6\r\ndata: \r\n1A;name=value\r\nabcdefghijklmnopqrstuvwxyz\r\n0\r\n\r\n",
    "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nA\r\n0123456789\r\n0\r\nX-Trailer: "
    "yes\r\n\r\n",
    "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n",
    "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3 ; a ; b = \"q\\\"s\" "
    ";c=d\r\nabc\r\n0;x\r\n\r\n",
    "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\nthe body runs to the close",
    "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\ncoded to the close",
    "HTTP/1.1 204 No Content\r\nContent-Length: 5\r\n\r\n",
    "HTTP/1.1 304 Not Modified\r\nETag: \"x\"\r\n\r\n",
    "HTTP/1.1 100 Continue\r\n\r\n",
    "HTTP/1.1 429 Too Many Requests\r\nRetry-After: 3\r\nContent-Length: 2\r\n\r\n{}",
    "HTTP/1.0 200 OK\r\nConnection: keep-alive\r\nContent-Length: 3\r\n\r\nabc",
    "HTTP/1.0 200 OK\r\nContent-Length: 3\r\n\r\nabc",
    "HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 3\r\n\r\nabc",
    "HTTP/1.1 200 OK\r\nContent-Length: 3\r\nContent-Length: 3\r\n\r\nabc",
    "HTTP/1.1 200 OK\r\nContent-Length: 3, 3\r\n\r\nabc",
    "HTTP/1.1 200 \r\nx-empty:\r\nx-spaces:   padded value  \r\nContent-Length: 1\r\n\r\nz",
    // obs-text and tabs are text, at any place of the fields.
    "HTTP/1.1 200 OK\r\nX-Obs: caf\xc3\xa9\tand more obs-text \xff\x80 past sixteen\r\n"
    "Content-Length: 1\r\n\r\nz",
    "HTTP/1.1 503 Service Unavailable\r\ncontent-length: 4\r\nCONNECTION: Close\r\n\r\nbusy",
    "HTTP/1.1 200 OK\r\nX-Obs-Text: caf\xc3\xa9\r\nContent-Length: 0\r\n\r\n",
};

std::vector<std::vector<std::string_view>> cuts(std::string_view bytes) {
  std::vector<std::vector<std::string_view>> out;
  out.push_back({bytes});
  for (std::size_t at = 1; at < bytes.size(); ++at) {
    out.push_back({bytes.substr(0, at), bytes.substr(at)});
  }
  std::vector<std::string_view> singles;
  for (std::size_t i = 0; i < bytes.size(); ++i) singles.push_back(bytes.substr(i, 1));
  out.push_back(singles);
  return out;
}

TEST(ResponseParser, EveryFramingParsesAsBeastsParserDidAtEveryCut) {
  for (const auto& valid : kValid) {
    for (bool head : {false, true}) {
      // Bytes of a next answer behind a self-delimited one stay unread.
      const std::string input = valid + "HTTP/1.1 200 OK\r\n";
      for (const auto& pieces : cuts(input)) {
        const auto mine = ours(pieces, head);
        const auto theirs = beast(pieces, head);
        ASSERT_EQ(mine, theirs) << "input: " << input << "\npieces: " << pieces.size()
                                << "\nours:  " << describe(mine) << "\nbeast: " << describe(theirs);
      }
      const auto whole = ours({valid}, head);
      EXPECT_TRUE(whole.ok) << valid << ": " << describe(whole);
    }
  }
}

TEST(ResponseParser, KeepAliveFollowsVersionConnectionAndFraming) {
  auto keep = [](std::string_view text) { return ours({text}).keep_alive; };
  EXPECT_TRUE(keep("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"));
  EXPECT_FALSE(keep("HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 0\r\n\r\n"));
  EXPECT_FALSE(keep("HTTP/1.0 200 OK\r\nContent-Length: 0\r\n\r\n"));
  EXPECT_TRUE(keep("HTTP/1.0 200 OK\r\nConnection: Keep-Alive\r\nContent-Length: 0\r\n\r\n"));
  EXPECT_FALSE(keep("HTTP/1.1 200 OK\r\n\r\nto the close"));
  EXPECT_TRUE(keep("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n1\r\na\r\n0\r\n\r\n"));
}

TEST(ResponseParser, MalformedAnswersAreErrors) {
  const std::vector<std::string> malformed = {
      "HTTP/1.1 200 OK\nContent-Length: 0\n\n",                             // bare LF
      "HTTP/1.1 200 OK\r\nX-Folded: a\r\n b\r\nContent-Length: 0\r\n\r\n",  // obs-fold
      "HTTP/1.1 200 OK\r\nContent-Length : 0\r\n\r\n",  // space before the colon
      "HTTP/1.1 200 OK\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\nabcd",
      "HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n",
      "HTTP/1.1 200 OK\r\nContent-Length: 99999999999999999999\r\n\r\n",
      "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked, gzip\r\n\r\n",
      // Both framings: the start of request smuggling.
      "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Length: "
      "9\r\n\r\n1\r\na\r\n0\r\n\r\n",
      "HTTP/1.1 200 OK\r\nContent-Length: 9\r\nTransfer-Encoding: gzip\r\n\r\n",
      "HTTP/1.1 200\r\nContent-Length: 0\r\n\r\n",  // no space after the status
      "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
      "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabcX\r\n",
      "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nFFFFFFFFFFFFFFFFFF\r\n",
      "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nshort",  // cut by the close
      "HTTP/1.1 200 OK\r\nContent-Len",                      // cut in the head
      "HTTP/2.0 200 OK\r\nContent-Length: 0\r\n\r\n", "HTTP/1.1 20 OK\r\nContent-Length: 0\r\n\r\n",
      "HTTP/1.1 200 OK\r\nX-Bad: a\x01z\r\nContent-Length: 0\r\n\r\n",
      // Past the first sixteen bytes of the fields (the SIMD check): a control character, DEL,
      // a bare CR and a bare LF inside a value.
      "HTTP/1.1 200 OK\r\nX-Long-Name: 0123456789abcdef\x01z\r\nContent-Length: 0\r\n\r\n",
      "HTTP/1.1 200 OK\r\nX-Long-Name: 0123456789abcdef\x7fz\r\nContent-Length: 0\r\n\r\n",
      "HTTP/1.1 200 OK\r\nX-Long-Name: 0123456789abcdef\rz\r\nContent-Length: 0\r\n\r\n",
      "HTTP/1.1 200 OK\r\nX-Long-Name: 0123456789abcdef\nz\r\nContent-Length: 0\r\n\r\n",
      "HTTP/1.1 200 OK\r\nContent-Length: 0\r\nX-Long-Name: 0123456789abcdef\x1f\r\n\r\n",
      "SSH-2.0-OpenSSH_9.2\r\n\r\n",
      // Framing fields in a trailer (found by fuzz_http_response: Beast applied them).
      "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0\r\nTransfer-Encoding: x\r\n\r\n",
      "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0\r\nContent-Length: 5\r\n\r\n",
      "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0\r\nConnection: close\r\n\r\n",
      // A bare CR at the ends of a trailer's value, which trimming would have hidden (found by
      // fuzz_http_response).
      "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0\r\nX-T:\r\re0\r\n\r\n",
      "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0\r\nX-T: v\r\r\n\r\n",
      "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n1 ;\r\na\r\n0\r\n\r\n",  // empty ext
      "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n1 \r\na\r\n0\r\n\r\n",   // BWS, no ext
  };
  for (const auto& text : malformed) {
    for (const auto& pieces : cuts(text)) {
      const auto mine = ours(pieces);
      ASSERT_FALSE(mine.ok) << text << ": " << describe(mine);
      // Whatever Beast made of it, the client would not have taken it as a good answer either,
      // unless Beast was laxer (obs-fold, a space before a colon): those we refuse on purpose.
    }
  }
  EXPECT_EQ(ours({""}).error, "end of stream");
}

TEST(ResponseParser, HeadLimitCountsTheWholeHead) {
  const std::string text =
      "HTTP/1.1 200 OK\r\nX-Long: " + std::string(200, 'a') + "\r\nContent-Length: 0\r\n\r\n";
  EXPECT_TRUE(ours({text}, false, 1000).ok);
  const auto small = ours({text}, false, 100);
  EXPECT_FALSE(small.ok);
  EXPECT_EQ(small.error, beast({text}, false, 100).error);
  // Also while the head is still incomplete.
  EXPECT_EQ(ours({text.substr(0, 150)}, false, 100).error, small.error);
}

TEST(ResponseParser, RandomMutationsNeverGetAnAnswerBeastsParserRefused) {
  // Ours may refuse what Beast took (it is stricter by design); where both take a message
  // they must agree on every part of it, and ours never takes what Beast refused.
  std::mt19937 rng(20261129);
  const std::string alphabet = "\r\n :;,0123456789aAfFzZ\t\x7f\x80-HTTP/1.chunkedlength";
  int both_ok = 0;
  for (int round = 0; round < 20000; ++round) {
    const std::string text =
        bc::testing::mutate(kValid[rng() % kValid.size()], rng, alphabet, 4, 1);
    const std::size_t cut = text.empty() ? 0 : rng() % text.size();
    const std::vector<std::string_view> pieces = {std::string_view(text).substr(0, cut),
                                                  std::string_view(text).substr(cut)};
    const auto mine = ours(pieces);
    const auto theirs = beast(pieces);
    if (mine.ok) {
      ASSERT_TRUE(theirs.ok) << "ours took what Beast refused: " << text
                             << "\nours:  " << describe(mine) << "\nbeast: " << describe(theirs);
      ASSERT_EQ(mine, theirs) << text << "\nours:  " << describe(mine)
                              << "\nbeast: " << describe(theirs);
      ++both_ok;
    }
  }
  EXPECT_GT(both_ok, 2000);  // the mutations did reach well-formed answers
}

TEST(ResponseParser, FieldsAreBuiltWhenAskedForInOrderWithTrailersLast) {
  ResponseParser parser;
  const std::string_view answer =
      "HTTP/1.1 429 Too Many Requests\r\nRetry-After:  7 \r\nX-Empty:\r\n"
      "Transfer-Encoding: chunked\r\n\r\n2\r\n{}\r\n0\r\nX-Trailer:\tlast\r\n\r\n";
  boost::system::error_code ec;
  std::string_view rest = answer;
  while (!rest.empty() && !parser.is_done()) {
    rest.remove_prefix(parser.put(boost::asio::buffer(rest.data(), rest.size()), ec));
    ASSERT_FALSE(ec) << ec.message();
  }
  ASSERT_TRUE(parser.is_done());
  const Headers expected = {{"Retry-After", "7"},
                            {"X-Empty", ""},
                            {"Transfer-Encoding", "chunked"},
                            {"X-Trailer", "last"}};
  EXPECT_EQ(parser.headers(), expected);
  EXPECT_EQ(parser.headers(), expected);  // built once, asked twice
  ReceivedFields moved = std::move(parser.fields());
  EXPECT_EQ(moved.take(), expected);
  EXPECT_TRUE(moved.headers().empty());  // taken
  moved.add("Later", "one");
  EXPECT_EQ(moved.headers(), (Headers{{"Later", "one"}}));
}

}  // namespace
}  // namespace bc::net
