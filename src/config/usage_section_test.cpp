#include "config/usage_section.h"

#include <gtest/gtest.h>

#include "config/loader.h"

namespace bc::config {
namespace {

const char* kModels =
    "models:\n  m:\n    provider: mock\n    api_keys: [{key: sk-mock-0000000000}]\n";

Config load(const std::string& usage) {
  return load_config_text(std::string(kModels) + usage, "test.yaml",
                          [](const std::string&) { return std::nullopt; });
}

std::string error_of(const std::string& usage) {
  try {
    load(usage);
  } catch (const ConfigError& e) {
    return e.what();
  }
  ADD_FAILURE() << "the config loaded, but an error was expected";
  return {};
}

TEST(UsageSection, OffWhenAbsent) {
  EXPECT_TRUE(load("").usage.path.empty());
}

TEST(UsageSection, ReadsEveryFieldWithDefaults) {
  const auto c = load("usage:\n  path: /tmp/u.db\n  flush_ms: 250\n");
  EXPECT_EQ(c.usage.path, "/tmp/u.db");
  EXPECT_EQ(c.usage.flush_ms, 250);
  EXPECT_EQ(c.usage.retention_days, 90);
  EXPECT_EQ(c.usage.queue_size, 65536);
}

TEST(UsageSection, ErrorsNameTheFileLineAndField) {
  EXPECT_NE(error_of("usage:\n  flush_ms: 100\n").find("test.yaml:5: usage.path"),
            std::string::npos);
  EXPECT_NE(
      error_of("usage:\n  path: /tmp/u.db\n  flush_ms: 5\n").find("test.yaml:7: usage.flush_ms"),
      std::string::npos);
  EXPECT_NE(error_of("usage:\n  path: /tmp/u.db\n  retention: 5\n").find("usage.retention"),
            std::string::npos);
}

}  // namespace
}  // namespace bc::config
