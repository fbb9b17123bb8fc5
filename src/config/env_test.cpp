#include "config/env.h"

#include <gtest/gtest.h>

#include <map>

#include "config/suggest.h"

namespace bc::config {
namespace {

EnvLookup fake_env(std::map<std::string, std::string> vars) {
  return [vars = std::move(vars)](const std::string& name) -> std::optional<std::string> {
    auto it = vars.find(name);
    if (it == vars.end()) return std::nullopt;
    return it->second;
  };
}

TEST(ExpandEnv, ReplacesSetVariables) {
  auto e = expand_env("Bearer ${TOKEN}/${B}", fake_env({{"TOKEN", "abc"}, {"B", ""}}));
  EXPECT_TRUE(e.errors.empty());
  EXPECT_TRUE(e.substituted);
  EXPECT_EQ(e.text, "Bearer abc/");
}

TEST(ExpandEnv, DefaultAppliesWhenUnsetOrEmpty) {
  auto env = fake_env({{"EMPTY", ""}, {"SET", "v"}});
  EXPECT_EQ(expand_env("${MISSING:-d1}", env).text, "d1");
  EXPECT_EQ(expand_env("${EMPTY:-d2}", env).text, "d2");
  EXPECT_EQ(expand_env("${SET:-d3}", env).text, "v");
  EXPECT_EQ(expand_env("${MISSING:-}", env).text, "");
  EXPECT_EQ(expand_env("${MISSING:-a:-b}", env).text, "a:-b");
}

TEST(ExpandEnv, UnsetVariableWithoutDefaultIsAnError) {
  auto e = expand_env("x${NOPE}y", fake_env({}));
  ASSERT_EQ(e.errors.size(), 1u);
  EXPECT_EQ(e.errors[0],
            "environment variable 'NOPE' is not set (write ${NOPE:-default} to give a default)");
}

TEST(ExpandEnv, TextWithoutReferencesIsUnchanged) {
  auto e = expand_env("cost $5, $HOME, a$", fake_env({{"HOME", "/root"}}));
  EXPECT_TRUE(e.errors.empty());
  EXPECT_FALSE(e.substituted);
  EXPECT_EQ(e.text, "cost $5, $HOME, a$");
}

TEST(ExpandEnv, DoubleDollarEscapesAReference) {
  auto e = expand_env("$${X} ${X}", fake_env({{"X", "1"}}));
  EXPECT_TRUE(e.errors.empty());
  EXPECT_EQ(e.text, "${X} 1");
}

TEST(ExpandEnv, MalformedReferencesAreErrors) {
  EXPECT_EQ(expand_env("${OPEN", fake_env({})).errors.size(), 1u);
  EXPECT_EQ(expand_env("${}", fake_env({})).errors.size(), 1u);
  EXPECT_EQ(expand_env("${1X}", fake_env({})).errors.size(), 1u);
  EXPECT_EQ(expand_env("${A B}", fake_env({})).errors.size(), 1u);
}

TEST(ClosestMatch, SuggestsTyposOnly) {
  const std::vector<std::string> keys = {"max_concurrency", "max_qps", "model", "api_keys"};
  EXPECT_EQ(closest_match("max_concurency", keys), "max_concurrency");
  EXPECT_EQ(closest_match("modle", keys), "model");  // a swap is one edit
  EXPECT_EQ(closest_match("API_KEYS", keys), "api_keys");
  EXPECT_EQ(closest_match("max_qsp", keys), "max_qps");
  EXPECT_EQ(closest_match("temperature", keys), std::nullopt);
  EXPECT_EQ(closest_match("x", keys), std::nullopt);
}

TEST(EditDistance, CountsEdits) {
  EXPECT_EQ(edit_distance("", "abc"), 3u);
  EXPECT_EQ(edit_distance("kitten", "sitting"), 3u);
  EXPECT_EQ(edit_distance("ab", "ba"), 1u);
  EXPECT_EQ(edit_distance("same", "same"), 0u);
}

}  // namespace
}  // namespace bc::config
