#include "core/json_text.h"

#include "core/json_plain_run.h"

#include <cstdint>
#include <random>
#include <string>
#include <string_view>

#include <gtest/gtest.h>
#include <boost/json.hpp>

namespace bc {
namespace {

std::string string_text(std::string_view s) {
  std::string out;
  append_json_string(out, s);
  return out;
}

// The writer as it was before it copied runs: one byte at a time, each decided alone. The
// run-copying writer must give the same bytes for every input.
std::string string_text_bytewise(std::string_view s) {
  const auto utf8_length = [&](std::size_t i) -> std::size_t {
    const auto b0 = static_cast<unsigned char>(s[i]);
    std::size_t n = 0;
    std::uint32_t cp = 0;
    if (b0 >= 0xC2 && b0 <= 0xDF) {
      n = 2, cp = b0 & 0x1F;
    } else if (b0 >= 0xE0 && b0 <= 0xEF) {
      n = 3, cp = b0 & 0x0F;
    } else if (b0 >= 0xF0 && b0 <= 0xF4) {
      n = 4, cp = b0 & 0x07;
    } else {
      return 0;
    }
    if (i + n > s.size()) return 0;
    for (std::size_t k = 1; k < n; ++k) {
      const auto b = static_cast<unsigned char>(s[i + k]);
      if ((b & 0xC0) != 0x80) return 0;
      cp = (cp << 6) | (b & 0x3F);
    }
    if ((n == 3 && cp < 0x800) || (n == 4 && (cp < 0x10000 || cp > 0x10FFFF)) ||
        (cp >= 0xD800 && cp <= 0xDFFF)) {
      return 0;
    }
    return n;
  };
  std::string out = "\"";
  for (std::size_t i = 0; i < s.size(); ++i) {
    const auto u = static_cast<unsigned char>(s[i]);
    if (u >= 0x80) {
      const auto n = utf8_length(i);
      out += n == 0 ? std::string("\ufffd") : std::string(s.substr(i, n));
      if (n != 0) i += n - 1;
    } else if (u == '"' || u == '\\') {
      out += '\\';
      out += static_cast<char>(u);
    } else if (u == '\n' || u == '\r' || u == '\t' || u == '\b' || u == '\f') {
      out += u == '\n' ? "\\n" : u == '\r' ? "\\r" : u == '\t' ? "\\t" : u == '\b' ? "\\b" : "\\f";
    } else if (u < 0x20) {
      static constexpr char kHex[] = "0123456789abcdef";
      out += "\\u00";
      out += kHex[u >> 4];
      out += kHex[u & 0xf];
    } else {
      out += static_cast<char>(u);
    }
  }
  out += '"';
  return out;
}

TEST(JsonText, DoublesInPlainShortestForm) {
  boost::json::object o;
  o["a"] = 0.5;
  o["b"] = 45.25;
  o["c"] = 3250.4;
  o["d"] = 3.0;
  o["e"] = 1e300;
  EXPECT_EQ(json_text(o), R"({"a":0.5,"b":45.25,"c":3250.4,"d":3.0,"e":1e+300})");
}

TEST(JsonText, DoublesArePlainDecimalsWhereJavaScriptWritesThem) {
  // The shortest form would pick "1e+08" and "1e-05" here.
  EXPECT_EQ(json_text(boost::json::value(34.56)), "34.56");
  EXPECT_EQ(json_text(boost::json::value(100000000.0)), "100000000.0");
  EXPECT_EQ(json_text(boost::json::value(0.00001)), "0.00001");
  EXPECT_EQ(json_text(boost::json::value(-2.5e20)), "-250000000000000000000.0");
  EXPECT_EQ(json_text(boost::json::value(0.0)), "0.0");
  EXPECT_EQ(json_text(boost::json::value(1e-8)), "1e-08");
  for (double d : {34.56, 1e8, 1e-5, 123456.789, 0.1 + 0.2}) {
    EXPECT_EQ(boost::json::parse(json_text(boost::json::value(d))).as_double(), d);
  }
}

TEST(JsonText, RoundTripsEveryKind) {
  const auto v = boost::json::parse(
      R"({"s":"q\"\\\n\u0001é","i":-3,"u":18446744073709551615,"t":true,"n":null,)"
      R"("arr":[1,2.5,[],{}],"o":{"x":0.1}})");
  const auto text = json_text(v);
  EXPECT_EQ(boost::json::parse(text), v) << text;
  EXPECT_NE(text.find(R"("s":"q\"\\\n\u0001é")"), std::string::npos) << text;
  EXPECT_NE(text.find(R"("x":0.1)"), std::string::npos) << text;
}

TEST(JsonText, InvalidUtf8BecomesReplacementCharacter) {
  boost::json::value v = boost::json::string(std::string("a\x29\xe0\x18\xbc b\xc3\xa9"));
  const auto text = json_text(v);
  // Each invalid byte becomes U+FFFD (EF BF BD); valid sequences pass unchanged.
  EXPECT_EQ(text, "\"a)\xEF\xBF\xBD\\u0018\xEF\xBF\xBD b\xC3\xA9\"");
  EXPECT_NO_THROW(boost::json::parse(text));
}

TEST(JsonText, EscapesAtTheStartAndEndOfARun) {
  EXPECT_EQ(string_text(""), R"("")");
  EXPECT_EQ(string_text("\"abc"), R"("\"abc")");
  EXPECT_EQ(string_text("abc\\"), R"("abc\\")");
  EXPECT_EQ(string_text("\nabc\t"), R"("\nabc\t")");
  EXPECT_EQ(string_text("\"\"\\"), R"("\"\"\\")");
  EXPECT_EQ(string_text(std::string_view("\0a\x1f", 3)), R"("\u0000a\u001f")");
  EXPECT_EQ(string_text("\x7f~ "), "\"\x7f~ \"");  // DEL needs no escape in JSON
}

TEST(JsonText, LongRunsAreCopiedWhole) {
  const std::string run(5000, 'x');
  EXPECT_EQ(string_text(run), '"' + run + '"');
  EXPECT_EQ(string_text(run + "\n" + run), '"' + run + "\\n" + run + '"');
  const std::string cjk = "\xe4\xbd\xa0\xe5\xa5\xbd";  // 你好: valid UTF-8 stays in the run
  std::string mixed;
  for (int i = 0; i < 500; ++i) mixed += "ab" + cjk + "\xf0\x9f\x98\x80";
  EXPECT_EQ(string_text(mixed), '"' + mixed + '"');
}

TEST(JsonText, InvalidUtf8InsideARun) {
  EXPECT_EQ(string_text("abc\xff"
                        "def"),
            "\"abc\xEF\xBF\xBD"
            "def\"");
  EXPECT_EQ(string_text("\xff"
                        "abc"),
            "\"\xEF\xBF\xBD"
            "abc\"");
  EXPECT_EQ(string_text("abc\xff"), "\"abc\xEF\xBF\xBD\"");
  // A sequence cut short by the end of the string, or by an ASCII byte: each byte replaced.
  EXPECT_EQ(string_text("abc\xe2\x82"), "\"abc\xEF\xBF\xBD\xEF\xBF\xBD\"");
  EXPECT_EQ(string_text("a\xe2\x82z\xc3\xa9"), "\"a\xEF\xBF\xBD\xEF\xBF\xBDz\xC3\xA9\"");
  // Overlong and surrogate forms are not valid UTF-8.
  EXPECT_EQ(string_text("a\xc0\xafz"), "\"a\xEF\xBF\xBD\xEF\xBF\xBDz\"");
  EXPECT_EQ(string_text("a\xed\xa0\x80z"), "\"a\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBDz\"");
}

TEST(JsonText, SameBytesAsTheBytewiseWriter) {
  // Random strings drawn mostly from the bytes that end or extend a run.
  static constexpr std::string_view kPieces[] = {"a",
                                                 "hello world ",
                                                 "\"",
                                                 "\\",
                                                 "\n",
                                                 "\x01",
                                                 "\x1f",
                                                 "\x7f",
                                                 "\xc3\xa9",
                                                 "\xe4\xbd\xa0",
                                                 "\xf0\x9f\x98\x80",
                                                 "\xff",
                                                 "\x80",
                                                 "\xc3",
                                                 "\xe4\xbd",
                                                 "\xf4\x90\x80\x80"};
  std::mt19937 rng(7);
  std::uniform_int_distribution<std::size_t> piece(0, std::size(kPieces) - 1);
  std::uniform_int_distribution<int> length(0, 24);
  for (int round = 0; round < 5000; ++round) {
    std::string s;
    for (int n = length(rng); n > 0; --n) s += kPieces[piece(rng)];
    ASSERT_EQ(string_text(s), string_text_bytewise(s)) << "round " << round;
  }
  std::uniform_int_distribution<int> byte(0, 255);
  for (int round = 0; round < 2000; ++round) {
    std::string s;
    for (int n = length(rng) * 4; n > 0; --n) s += static_cast<char>(byte(rng));
    ASSERT_EQ(string_text(s), string_text_bytewise(s)) << "round " << round;
  }
}

TEST(JsonText, ObjectOverloadWritesWhatTheValueOverloadWrites) {
  const auto v = boost::json::parse(
      R"({"model":"m","messages":[{"role":"user","content":"q\"\u0001\u00e9 x"}],)"
      R"("temperature":0.7,"n":null,"o":{"k\n":[true,false,-1,2.5e-7]},"e":{}})");
  EXPECT_EQ(json_text(v.as_object()), json_text(v));
  EXPECT_EQ(json_text(boost::json::object{}), "{}");
  std::string appended = "x";
  append_json(appended, v.as_object());
  EXPECT_EQ(appended, "x" + json_text(v));
}

// The word-at-a-time run finder must stop exactly where the one-byte table loop stops, for a
// special byte at every offset of every block size (16, 8 and the tail).
TEST(JsonPlainRun, StopsWhereTheByteLoopStops) {
  const std::string_view kStops[] = {"\"",   "\\",   "\x01", "\x1f", "\x7f",
                                     "\x80", "\xff", "\xc3", " "};
  for (std::size_t length = 0; length <= 40; ++length) {
    for (std::size_t at = 0; at <= length; ++at) {
      for (const std::string_view stop : kStops) {
        std::string s(length, 'a');
        if (at < length) s[at] = stop[0];
        const char* begin = s.data();
        const char* end = begin + s.size();
        const char* expected = begin;
        while (expected != end && !detail::kJsonRunStop[static_cast<unsigned char>(*expected)])
          ++expected;
        ASSERT_EQ(json_plain_run_end(begin, end) - begin, expected - begin)
            << "length " << length << " at " << at << " byte " << int(stop[0]);
      }
    }
  }
  // 0x7f (DEL) and space are plain: JSON allows them raw.
  const std::string plain = std::string(37, '\x7f') + "  ";
  EXPECT_EQ(json_plain_run_end(plain.data(), plain.data() + plain.size()),
            plain.data() + plain.size());
}

}  // namespace
}  // namespace bc
