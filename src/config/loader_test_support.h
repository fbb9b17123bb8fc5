// Helpers shared by the config loader's tests: YAML written in the test, loaded with a fake
// environment, and the issues or the message of one that must fail.
#pragma once

#include <gtest/gtest.h>

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "config/loader.h"

namespace bc::config::testing {

inline EnvLookup fake_env(std::map<std::string, std::string> vars = {}) {
  return [vars = std::move(vars)](const std::string& name) -> std::optional<std::string> {
    auto it = vars.find(name);
    if (it == vars.end()) return std::nullopt;
    return it->second;
  };
}

// The tests write YAML as R"(...)" starting on a new line; that first newline is dropped so
// that line 1 is the first line written.
inline std::string_view text_of(std::string_view yaml) {
  if (!yaml.empty() && yaml.front() == '\n') yaml.remove_prefix(1);
  return yaml;
}

inline Config load(std::string_view yaml, const EnvLookup& env = fake_env()) {
  return load_config_text(text_of(yaml), "test.yaml", env);
}

// The issues of a config that must fail to load.
inline std::vector<ConfigIssue> issues_of(std::string_view yaml,
                                          const EnvLookup& env = fake_env()) {
  try {
    load(yaml, env);
  } catch (const ConfigError& e) {
    return e.issues();
  }
  ADD_FAILURE() << "the config loaded, but an error was expected";
  return {};
}

// what() of a config that must fail to load.
inline std::string error_of(std::string_view yaml, const EnvLookup& env = fake_env()) {
  try {
    load(yaml, env);
  } catch (const ConfigError& e) {
    return e.what();
  }
  ADD_FAILURE() << "the config loaded, but an error was expected";
  return {};
}
}  // namespace bc::config::testing

namespace bc::config {
// The loader's test files call these by their short names.
using testing::error_of;
using testing::fake_env;
using testing::issues_of;
using testing::load;
using testing::text_of;
}  // namespace bc::config
