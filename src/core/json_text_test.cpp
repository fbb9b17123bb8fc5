#include "core/json_text.h"

#include <gtest/gtest.h>
#include <boost/json.hpp>

namespace bc {
namespace {

TEST(JsonText, DoublesInPlainShortestForm) {
  boost::json::object o;
  o["a"] = 0.5;
  o["b"] = 45.25;
  o["c"] = 3250.4;
  o["d"] = 3.0;
  o["e"] = 1e300;
  EXPECT_EQ(json_text(o), R"({"a":0.5,"b":45.25,"c":3250.4,"d":3.0,"e":1e+300})");
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

}  // namespace
}  // namespace bc
