#include "core/json_arena.h"

#include <string>

#include <gtest/gtest.h>
#include <boost/json.hpp>

namespace json = boost::json;

namespace {

TEST(JsonArena, ParsesWhatBoostJsonParses) {
  const std::string text =
      R"({"model":"m","messages":[{"role":"user","content":"h\u00e9 \"x\""}],)"
      R"("n":-3,"t":0.5,"big":18446744073709551615,"ok":true,"none":null,"e":[]})";
  json::error_code ec;
  const json::value parsed = bc::parse_json_in_arena(text, ec);
  ASSERT_FALSE(ec) << ec.message();
  EXPECT_EQ(parsed, json::parse(text));
  // The tree lives in its own arena, not in the default heap resource.
  EXPECT_NE(parsed.storage().get(), json::storage_ptr().get());
}

TEST(JsonArena, ReportsTheSameErrorsAsBoostJson) {
  for (const std::string text : {"{", "{\"a\":1} x", "", "[1,]", "{\"a\":\"\xff\"}", "nul"}) {
    json::error_code ours;
    json::error_code theirs;
    const json::value parsed = bc::parse_json_in_arena(text, ours);
    json::parse(text, theirs);
    EXPECT_TRUE(ours) << text;
    EXPECT_EQ(ours, theirs) << text;
    EXPECT_TRUE(parsed.is_null()) << text;
  }
}

TEST(JsonArena, APartCopiedOutKeepsItsMemoryAfterTheTreeIsGone) {
  json::value part;
  {
    json::error_code ec;
    json::value parsed =
        bc::parse_json_in_arena(R"({"tools":[{"name":"lookup","n":[1,2,3]}]})", ec);
    ASSERT_FALSE(ec);
    part = parsed.at("tools");                    // assignment copies into `part`'s own storage
    json::value shared_copy(parsed.at("tools"));  // a copy shares the arena …
    parsed = nullptr;                             // … which outlives the tree
    EXPECT_EQ(shared_copy.at(0).at("name"), "lookup");
  }
  EXPECT_EQ(part.at(0).at("n").at(2), 3);
}

TEST(JsonArena, DocumentsLargerThanTheFirstBlockAndBackToBackParses) {
  std::string text = "[";
  for (int i = 0; i < 5000; ++i) text += (i ? ",\"" : "\"") + std::to_string(i) + "\"";
  text += "]";
  for (int round = 0; round < 3; ++round) {
    json::error_code ec;
    const json::value parsed = bc::parse_json_in_arena(text, ec);
    ASSERT_FALSE(ec);
    ASSERT_EQ(parsed.as_array().size(), 5000u);
    EXPECT_EQ(parsed.at(4999), "4999");
    json::error_code bad;
    bc::parse_json_in_arena("{\"half\":", bad);  // a failed parse leaves the parser reusable
    EXPECT_TRUE(bad);
  }
}

}  // namespace
