// The config loader: unknown keys and types named with file, line and field, ${ENV}
// substitution, keys and their duplicates, syntax errors, defaults and sizes.
#include "config/loader.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <tuple>
#include <vector>

#include <unistd.h>

#include "config/demo_config.h"
#include "config/loader_test_support.h"

namespace bc::config {
namespace {

TEST(ConfigLoader, UnknownKeyIsNamedWithTheClosestKnownKey) {
  EXPECT_EQ(error_of(R"(
models:
  glm:
    provider: mock
    max_concurency: 3
)"),
            "test.yaml:4: models.glm.max_concurency: unknown key 'max_concurency' "
            "(did you mean 'max_concurrency'?)");
}

TEST(ConfigLoader, UnknownKeyWithNoNearMatchSaysOnlyThat) {
  EXPECT_EQ(error_of(R"(
server:
  colour: blue
models:
  m: {provider: mock}
)"),
            "test.yaml:2: server.colour: unknown key 'colour'");
}

TEST(ConfigLoader, UnknownTopLevelKeySaysWhereItBelongs) {
  EXPECT_EQ(error_of(R"(
port: 8080
models:
  m: {provider: mock}
)"),
            "test.yaml:1: port: unknown key 'port' (it belongs under 'server')");
  EXPECT_EQ(error_of(R"(
models:
  m:
    provider: mock
    weight: 2
)"),
            "test.yaml:4: models.m.weight: unknown key 'weight' (it belongs in an 'api_keys' "
            "entry)");
}

TEST(ConfigLoader, WrongTypeNamesFieldLineAndValue) {
  EXPECT_EQ(error_of(R"(
models:
  glm-4-flash:
    provider: zhipu
    api_keys:
      - key: k1
        weight: abc
)"),
            "test.yaml:6: models.glm-4-flash.api_keys[0].weight: expected a number, got \"abc\"");
}

TEST(ConfigLoader, WrongTypeOfCollection) {
  const auto issues = issues_of(R"(
server:
  port: [1, 2]
  threads: 1.5
  host: {a: b}
models:
  m:
    provider: mock
    supports_tools: yes please
)");
  ASSERT_EQ(issues.size(), 4u);
  EXPECT_EQ(issues[0].to_string(), "test.yaml:2: server.port: expected an integer, got a list");
  EXPECT_EQ(issues[1].to_string(), "test.yaml:3: server.threads: expected an integer, got \"1.5\"");
  EXPECT_EQ(issues[2].to_string(), "test.yaml:4: server.host: expected a string, got a mapping");
  EXPECT_EQ(issues[3].to_string(),
            "test.yaml:8: models.m.supports_tools: expected true or false, got \"yes please\"");
}

TEST(ConfigLoader, MissingRequiredFieldsAreNamed) {
  const auto issues = issues_of(R"(
models:
  glm:
    model: glm-4-flash
  ds:
    provider: openai
    api_keys:
      - weight: 2
  gpt:
    provider: openai
)");
  ASSERT_EQ(issues.size(), 3u);
  EXPECT_EQ(issues[0].to_string(), "test.yaml:2: models.glm.provider: missing required field");
  EXPECT_EQ(issues[1].to_string(),
            "test.yaml:7: models.ds.api_keys[0].key: missing required field");
  EXPECT_EQ(issues[2].to_string(),
            "test.yaml:8: models.gpt.api_keys: missing required field (provider 'openai' needs at "
            "least one key)");
}

TEST(ConfigLoader, MissingModelsSection) {
  EXPECT_EQ(error_of(R"(
server:
  port: 9000
)"),
            "test.yaml:1: models: missing required field (at least one model must be configured)");
  EXPECT_EQ(error_of("models: {}\n"), "test.yaml:1: models: at least one model must be configured");
  EXPECT_EQ(error_of(""),
            "test.yaml:1: (document): the file is empty; at least 'models' must be configured");
}

TEST(ConfigLoader, ValuesOutOfRangeAreErrors) {
  const auto issues = issues_of(R"(
server:
  port: 70000
models:
  m:
    provider: mock
    model_weight: 0
    default_temperature: 2.5
    max_retries: 11
    max_qps: -1
    max_concurrency: -2
    mock:
      tokens_per_second: 0
      latency_ms: -5
)");
  std::vector<std::string> lines;
  for (const auto& i : issues) lines.push_back(i.to_string());
  EXPECT_EQ(lines,
            (std::vector<std::string>{
                "test.yaml:2: server.port: must be between 0 and 65535, got 70000",
                "test.yaml:6: models.m.model_weight: must be > 0, got 0",
                "test.yaml:7: models.m.default_temperature: must be between 0 and 2, got 2.5",
                "test.yaml:8: models.m.max_retries: must be between 0 and 10, got 11",
                "test.yaml:9: models.m.max_qps: must be >= 0, got -1",
                "test.yaml:10: models.m.max_concurrency: must be >= 0, got -2",
                "test.yaml:12: models.m.mock.tokens_per_second: must be > 0, got 0",
                "test.yaml:13: models.m.mock.latency_ms: must be >= 0, got -5",
            }));
}

TEST(ConfigLoader, KeyWeightMustBePositive) {
  EXPECT_EQ(error_of(R"(
models:
  m:
    provider: openai
    api_keys:
      - {key: a-long-secret-1, weight: 0}
)"),
            "test.yaml:5: models.m.api_keys[0].weight: must be > 0, got 0");
}

TEST(ConfigLoader, UnsetEnvVariableNamesVariableFieldAndLine) {
  EXPECT_EQ(error_of(R"(
models:
  glm:
    provider: zhipu
    api_keys:
      - key: ${ZHIPU_KEY_1}
)"),
            "test.yaml:5: models.glm.api_keys[0].key: environment variable 'ZHIPU_KEY_1' is not "
            "set (write ${ZHIPU_KEY_1:-default} to give a default)");
}

TEST(ConfigLoader, EnvValuesAndDefaultsAreSubstituted) {
  const Config c = load(R"(
server:
  host: ${HOST:-127.0.0.1}
  port: ${PORT}
models:
  glm:
    provider: zhipu
    base_url: ${ZHIPU_URL:-https://open.bigmodel.cn/api/paas/v4}
    api_keys:
      - "Bearer-${ZHIPU_KEY_1}"
)",
                        fake_env({{"PORT", "8088"}, {"ZHIPU_KEY_1", "secret-1"}}));
  EXPECT_EQ(c.server.host, "127.0.0.1");
  EXPECT_EQ(c.server.port, 8088);
  EXPECT_EQ(c.models.at(0).base_url, "https://open.bigmodel.cn/api/paas/v4");
  EXPECT_EQ(c.models.at(0).api_keys.at(0).key, "Bearer-secret-1");
}

TEST(ConfigLoader, BadValueFromEnvShowsWhereItCameFrom) {
  EXPECT_EQ(error_of("server: {port: \"${PORT}\"}\nmodels: {m: {provider: mock}}\n",
                     fake_env({{"PORT", "abc"}})),
            "test.yaml:1: server.port: expected an integer, got \"abc\" (from \"${PORT}\")");
  // A long value from the environment may be a secret: only its length is shown.
  EXPECT_EQ(error_of("server: {port: \"${PORT}\"}\nmodels: {m: {provider: mock}}\n",
                     fake_env({{"PORT", "sk-0123456789abcdef0123"}})),
            "test.yaml:1: server.port: expected an integer, got a 23-character value (from "
            "\"${PORT}\")");
}

TEST(ConfigLoader, KeyEmptyAfterSubstitutionIsAnError) {
  EXPECT_EQ(error_of(R"(
models:
  m:
    provider: openai
    api_keys: [{key: "${EMPTY}"}]
)",
                     fake_env({{"EMPTY", ""}})),
            "test.yaml:4: models.m.api_keys[0].key: must not be empty (\"${EMPTY}\" gives an "
            "empty string)");
}

TEST(ConfigLoader, BaseUrlMustBeHttpOrHttps) {
  const auto issues = issues_of(R"(
models:
  a:
    provider: openai
    base_url: ftp://example.com/v1
    api_keys: [k-0123456789]
  b:
    provider: openai
    base_url: https://
    api_keys: [k-0123456789]
)");
  ASSERT_EQ(issues.size(), 2u);
  EXPECT_EQ(issues[0].to_string(),
            "test.yaml:4: models.a.base_url: must start with http:// or https://, got "
            "\"ftp://example.com/v1\"");
  EXPECT_EQ(issues[1].to_string(), "test.yaml:8: models.b.base_url: not a valid URL: \"https://\"");
}

TEST(ConfigLoader, BaseUrlLosesTrailingSlash) {
  const Config c = load(R"(
models:
  a: {provider: openai, base_url: "http://127.0.0.1:8080/v1/", api_keys: [k-0123456789]}
)");
  EXPECT_EQ(c.models.at(0).base_url, "http://127.0.0.1:8080/v1");
}

TEST(ConfigLoader, EnabledModelMustExist) {
  EXPECT_EQ(error_of(R"(
enabled_models:
  - glm-4-flash
  - glm-4-flsh
  - gpt-4o
models:
  glm-4-flash: {provider: mock}
)"),
            "test.yaml:3: enabled_models[1]: model 'glm-4-flsh' is not configured under 'models' "
            "(did you mean 'glm-4-flash'?)\n"
            "test.yaml:4: enabled_models[2]: model 'gpt-4o' is not configured under 'models'");
}

TEST(ConfigLoader, EnabledModelsMayNotBeEmptyOrRepeat) {
  EXPECT_EQ(error_of("enabled_models: []\nmodels: {m: {provider: mock}}\n"),
            "test.yaml:1: enabled_models: lists no model; remove it to enable every model under "
            "'models'");
  EXPECT_EQ(error_of("enabled_models: [m, m]\nmodels: {m: {provider: mock}}\n"),
            "test.yaml:1: enabled_models[1]: model 'm' is listed twice");
}

TEST(ConfigLoader, DuplicateKeyNameWithinAModel) {
  EXPECT_EQ(error_of(R"(
models:
  glm:
    provider: zhipu
    api_keys:
      - {key: secret-one-123456, name: main}
      - {key: secret-two-123456, name: spare}
      - {key: secret-three-1234, name: main}
)"),
            "test.yaml:7: models.glm.api_keys[2]: duplicate key name 'main' (also api_keys[0] on "
            "line 5)");
}

TEST(ConfigLoader, SameSecretTwiceWithinAModel) {
  EXPECT_EQ(error_of(R"(
models:
  glm:
    provider: zhipu
    api_keys:
      - secret-one-123456
      - secret-one-123456
)"),
            "test.yaml:6: models.glm.api_keys[1]: the same key as api_keys[0] on line 5");
}

TEST(ConfigLoader, UnnamedKeysWhoseMaskedIdsCollideNeedNames) {
  EXPECT_EQ(
      error_of(R"(
models:
  glm:
    provider: zhipu
    api_keys:
      - sk-aaaaaaaa-1234
      - sk-bbbbbbbb-1234
)"),
      "test.yaml:6: models.glm.api_keys[1]: key id 'sk-…1234' (the masked key) is also the id "
      "of api_keys[0] on line 5; give the keys distinct names");
}

TEST(ConfigLoader, DuplicateMappingKeyIsAnError) {
  EXPECT_EQ(error_of(R"(
models:
  m:
    provider: mock
    model_weight: 1
    model_weight: 2
)"),
            "test.yaml:5: models.m.model_weight: duplicate key (first written on line 4)");
}

TEST(ConfigLoader, MockSectionOnlyForMockProvider) {
  EXPECT_EQ(error_of(R"(
models:
  m:
    provider: openai
    api_keys: [k-0123456789]
    mock: {latency_ms: 10}
)"),
            "test.yaml:5: models.m.mock: only used by provider 'mock' (this model's provider is "
            "'openai')");
}

TEST(ConfigLoader, AProvidersOwnFieldIsRefusedOnAnotherProvidersModel) {
  EXPECT_EQ(error_of(R"(
models:
  m:
    provider: openai
    api_keys: [k-0123456789]
    jwt_auth: true
)"),
            "test.yaml:5: models.m.jwt_auth: only used by provider 'zhipu' (this model's provider "
            "is 'openai')");
  EXPECT_EQ(error_of(R"(
models:
  m:
    provider: zhipu
    api_keys: [k-0123456789]
    jwt_auth: maybe
)"),
            "test.yaml:5: models.m.jwt_auth: expected true or false, got \"maybe\"");
}

TEST(ConfigLoader, SyntaxErrorNamesTheLine) {
  const auto issues = issues_of(R"(
models:
  m:
    provider: mock
    reply: [unclosed
)");
  ASSERT_EQ(issues.size(), 1u);
  EXPECT_EQ(issues[0].path, "(syntax)");
  EXPECT_EQ(issues[0].line, 5);
}

TEST(ConfigLoader, SeveralErrorsAreReportedTogetherInFileOrder) {
  const auto issues = issues_of(R"(
enabled_models: [nope]
server:
  port: high
  thread: 4
models:
  a:
    provider: openai
    base_url: api.example.com
  b:
    max_retries: 99
)");
  std::vector<std::string> lines;
  for (const auto& i : issues) lines.push_back(i.to_string());
  EXPECT_EQ(lines,
            (std::vector<std::string>{
                "test.yaml:1: enabled_models[0]: model 'nope' is not configured under 'models'",
                "test.yaml:3: server.port: expected an integer, got \"high\"",
                "test.yaml:4: server.thread: unknown key 'thread' (did you mean 'threads'?)",
                "test.yaml:6: models.a.api_keys: missing required field (provider 'openai' needs "
                "at least one key)",
                "test.yaml:8: models.a.base_url: must start with http:// or https://, got "
                "\"api.example.com\"",
                "test.yaml:9: models.b.provider: missing required field",
                "test.yaml:10: models.b.max_retries: must be between 0 and 10, got 99",
            }));
}

TEST(ConfigLoader, MissingFileIsAnError) {
  try {
    load_config_file("/nonexistent/balancedcall.yaml");
    FAIL() << "expected ConfigError";
  } catch (const ConfigError& e) {
    EXPECT_EQ(std::string(e.what()),
              "/nonexistent/balancedcall.yaml: cannot read the file: No such file or directory");
  }
}

TEST(ConfigLoader, BareStringKeysHaveWeightOne) {
  const Config c = load(R"(
models:
  glm:
    provider: zhipu
    api_keys:
      - first-secret-0001
      - {key: second-secret-0002, weight: 2.5, name: second}
)");
  ASSERT_EQ(c.models.size(), 1u);
  const auto& keys = c.models[0].api_keys;
  ASSERT_EQ(keys.size(), 2u);
  EXPECT_EQ(keys[0].key, "first-secret-0001");
  EXPECT_EQ(keys[0].weight, 1);
  EXPECT_EQ(keys[0].name, "");
  EXPECT_EQ(keys[0].line, 5);
  EXPECT_EQ(keys[1].key, "second-secret-0002");
  EXPECT_EQ(keys[1].weight, 2.5);
  EXPECT_EQ(keys[1].name, "second");
}

TEST(ConfigLoader, DefaultsApplyToOmittedFields) {
  const Config c = load(R"(
models:
  glm-4-flash:
    provider: zhipu
    api_keys: [k-0123456789]
)");
  const ModelConfig& m = c.models.at(0);
  EXPECT_EQ(m.name, "glm-4-flash");
  EXPECT_EQ(m.model, "glm-4-flash");
  EXPECT_EQ(m.line, 2);
  EXPECT_EQ(m.model_weight, 1);
  EXPECT_EQ(m.strategy, "concurrency");
  EXPECT_EQ(m.max_retries, 2);
  EXPECT_FALSE(m.default_temperature.has_value());
  EXPECT_EQ(c.server.port, 9000);
  EXPECT_EQ(c.server.max_body_bytes, 8u * 1024 * 1024);
  EXPECT_TRUE(c.enabled_models.empty());
  EXPECT_EQ(c.active_models().size(), 1u);
  EXPECT_EQ(c.source, "test.yaml");
}

TEST(ConfigLoader, SizesAcceptBytesAndUnits) {
  const Config c = load(R"(
server:
  max_body_bytes: 8MiB
  max_header_bytes: 32 KiB
upstream:
  max_response_bytes: 1000000
models:
  m: {provider: mock}
)");
  EXPECT_EQ(c.server.max_body_bytes, 8u * 1024 * 1024);
  EXPECT_EQ(c.server.max_header_bytes, 32u * 1024);
  EXPECT_EQ(c.upstream.max_response_bytes, 1000000u);
  EXPECT_EQ(error_of("server: {max_body_bytes: 8 megs}\nmodels: {m: {provider: mock}}\n"),
            "test.yaml:1: server.max_body_bytes: expected a size in bytes (an integer, or with a "
            "unit: B, KB, MB, GB, KiB, MiB, GiB), got \"8 megs\"");
  EXPECT_EQ(error_of("server: {max_body_bytes: 0}\nmodels: {m: {provider: mock}}\n"),
            "test.yaml:1: server.max_body_bytes: must be at least 1 bytes, got 0");
}

}  // namespace
}  // namespace bc::config
