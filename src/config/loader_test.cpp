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

namespace bc::config {
namespace {

EnvLookup fake_env(std::map<std::string, std::string> vars = {}) {
  return [vars = std::move(vars)](const std::string& name) -> std::optional<std::string> {
    auto it = vars.find(name);
    if (it == vars.end()) return std::nullopt;
    return it->second;
  };
}

// The tests write YAML as R"(...)" starting on a new line; that first newline is dropped so
// that line 1 is the first line written.
std::string_view text_of(std::string_view yaml) {
  if (!yaml.empty() && yaml.front() == '\n') yaml.remove_prefix(1);
  return yaml;
}

Config load(std::string_view yaml, const EnvLookup& env = fake_env()) {
  return load_config_text(text_of(yaml), "test.yaml", env);
}

// The issues of a config that must fail to load.
std::vector<ConfigIssue> issues_of(std::string_view yaml, const EnvLookup& env = fake_env()) {
  try {
    load(yaml, env);
  } catch (const ConfigError& e) {
    return e.issues();
  }
  ADD_FAILURE() << "the config loaded, but an error was expected";
  return {};
}

// what() of a config that must fail to load.
std::string error_of(std::string_view yaml, const EnvLookup& env = fake_env()) {
  try {
    load(yaml, env);
  } catch (const ConfigError& e) {
    return e.what();
  }
  ADD_FAILURE() << "the config loaded, but an error was expected";
  return {};
}

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

TEST(ConfigLoader, StreamPacing) {
  const Config defaults = load("models: {m: {provider: mock}}\n");
  EXPECT_EQ(defaults.stream.hold_ms, 5000);
  EXPECT_EQ(defaults.stream.heartbeat_ms, 15000);
  const Config c =
      load("stream: {hold_ms: 0, heartbeat_ms: 2500}\nmodels: {m: {provider: mock}}\n");
  EXPECT_EQ(c.stream.hold_ms, 0);
  EXPECT_EQ(c.stream.heartbeat_ms, 2500);
  EXPECT_NE(error_of("stream: {heartbeat_ms: -1}\nmodels: {m: {provider: mock}}\n")
                .find("test.yaml:1: stream.heartbeat_ms:"),
            std::string::npos);
  EXPECT_EQ(error_of("stream: {hold: 5}\nmodels: {m: {provider: mock}}\n"),
            "test.yaml:1: stream.hold: unknown key 'hold'");
}

TEST(ConfigLoader, ServerConnectionAndBodyCaps) {
  const Config defaults = load("models: {m: {provider: mock}}\n");
  EXPECT_EQ(defaults.server.host, "127.0.0.1");
  EXPECT_EQ(defaults.server.max_connections, 4096);
  EXPECT_EQ(defaults.server.max_body_bytes_in_flight, 256u * 1024 * 1024);

  const Config c = load(R"(
server:
  max_connections: 100
  max_body_bytes_in_flight: 64 MiB
models:
  m: {provider: mock}
)");
  EXPECT_EQ(c.server.max_connections, 100);
  EXPECT_EQ(c.server.max_body_bytes_in_flight, 64u * 1024 * 1024);
  // 0: no limit.
  const Config unlimited = load(
      "server: {max_connections: 0, max_body_bytes_in_flight: 0}\nmodels: {m: {provider: mock}}\n");
  EXPECT_EQ(unlimited.server.max_connections, 0);
  EXPECT_EQ(unlimited.server.max_body_bytes_in_flight, 0u);

  EXPECT_EQ(error_of("server: {max_connections: -1}\nmodels: {m: {provider: mock}}\n"),
            "test.yaml:1: server.max_connections: must be >= 0, got -1");
  EXPECT_EQ(error_of("server: {max_connections: many}\nmodels: {m: {provider: mock}}\n"),
            "test.yaml:1: server.max_connections: expected an integer, got \"many\"");
  EXPECT_EQ(
      error_of("server: {max_body_bytes_in_flight: -5}\nmodels: {m: {provider: mock}}\n"),
      "test.yaml:1: server.max_body_bytes_in_flight: expected a size in bytes (an integer, or "
      "with a unit: B, KB, MB, GB, KiB, MiB, GiB), got \"-5\"");
}

TEST(ConfigLoader, ExposeKeysNeedsTheAdminToken) {
  // Raw upstream keys to any caller: refused, naming the line and the field.
  EXPECT_EQ(error_of(R"(
admin:
  expose_keys: true
models:
  m: {provider: mock}
)"),
            "test.yaml:2: admin.expose_keys: true needs admin.token: the key-exposing endpoints "
            "show raw upstream keys and must be guarded by the admin token");
  // A metrics token is not the admin token.
  EXPECT_EQ(issues_of("admin: {expose_keys: true, metrics_token: m-token-1}\n"
                      "models: {m: {provider: mock}}\n")
                .size(),
            1u);
  const Config c = load(
      "admin: {expose_keys: true, token: admin-token-0000000001}\n"
      "models: {m: {provider: mock}}\n");
  EXPECT_TRUE(c.admin.expose_keys);
  EXPECT_EQ(load("admin: {expose_keys: false}\nmodels: {m: {provider: mock}}\n").admin.token, "");
}

TEST(ConfigLoader, DashboardNeedsTheAdminToken) {
  EXPECT_EQ(error_of(R"(
admin:
  dashboard: true
models:
  m: {provider: mock}
)"),
            "test.yaml:2: admin.dashboard: true needs admin.token: the dashboard's data and "
            "actions are guarded by the admin token");
  EXPECT_EQ(error_of("admin: {dashboard: maybe, token: admin-token-0000000001}\n"
                     "models: {m: {provider: mock}}\n"),
            "test.yaml:1: admin.dashboard: expected true or false, got \"maybe\"");
  EXPECT_TRUE(load("admin: {dashboard: true, token: admin-token-0000000001}\n"
                   "models: {m: {provider: mock}}\n")
                  .admin.dashboard);
  EXPECT_FALSE(load("models: {m: {provider: mock}}\n").admin.dashboard);
}

TEST(ConfigLoader, MetricsTokenIsRead) {
  const Config c = load("admin: {metrics_token: m-token-1}\nmodels: {m: {provider: mock}}\n");
  EXPECT_EQ(c.admin.metrics_token, "m-token-1");
  EXPECT_EQ(c.admin.token, "");
  EXPECT_EQ(load("models: {m: {provider: mock}}\n").admin.metrics_token, "");
  EXPECT_EQ(error_of("admin: {metrics_token: \"\"}\nmodels: {m: {provider: mock}}\n"),
            "test.yaml:1: admin.metrics_token: must not be empty");
}

TEST(ConfigLoader, BalancingFieldsAreRead) {
  const Config c = load(R"(
queue:
  timeout_ms: 2500
  max_waiting: 40
admin:
  expose_keys: true
  token: admin-token-0000000001
models:
  glm:
    provider: zhipu
    strategy: tokens
    max_concurrency: 3
    max_qps: 0.5
    rpm: 30
    tpm: 120000
    decay_factor: 0.65
    auto_weight: true
    cooldown_ms: 1500
    queue_timeout_ms: 750
    api_keys:
      - {key: secret-one-123456, name: glm-main, weight: 3}
)");
  EXPECT_EQ(c.queue.timeout_ms, 2500);
  EXPECT_EQ(c.queue.max_waiting, 40);
  EXPECT_TRUE(c.admin.expose_keys);
  EXPECT_EQ(c.admin.token, "admin-token-0000000001");
  const ModelConfig& m = c.models.at(0);
  EXPECT_EQ(m.strategy, "tokens");
  EXPECT_EQ(m.max_concurrency, 3);
  EXPECT_EQ(m.max_qps, 0.5);
  EXPECT_EQ(m.rpm, 30);
  EXPECT_EQ(m.tpm, 120000);
  EXPECT_EQ(m.decay_factor, 0.65);
  EXPECT_TRUE(m.auto_weight);
  EXPECT_EQ(m.cooldown_ms, 1500);
  EXPECT_EQ(m.queue_timeout_ms, 750);
  ASSERT_EQ(m.api_keys.size(), 1u);
  EXPECT_EQ(m.api_keys[0].name, "glm-main");
  EXPECT_EQ(m.api_keys[0].weight, 3);
}

TEST(ConfigLoader, BalancingFieldsDefaultWhenOmitted) {
  const Config c = load(R"(
models:
  m:
    provider: openai
    api_keys: [k-0123456789]
)");
  EXPECT_EQ(c.queue.timeout_ms, 10'000);
  EXPECT_EQ(c.queue.max_waiting, 10'000);
  EXPECT_FALSE(c.admin.expose_keys);
  EXPECT_EQ(c.admin.token, "");
  const ModelConfig& m = c.models.at(0);
  EXPECT_EQ(m.strategy, "concurrency");
  EXPECT_EQ(m.max_concurrency, 0);
  EXPECT_EQ(m.max_qps, 0);
  EXPECT_EQ(m.rpm, 0);
  EXPECT_EQ(m.tpm, 0);
  EXPECT_EQ(m.decay_factor, 0.8);
  EXPECT_FALSE(m.auto_weight);
  EXPECT_EQ(m.cooldown_ms, 5000);
  // -1: not set here, so the gateway takes queue.timeout_ms.
  EXPECT_EQ(m.queue_timeout_ms, -1);
  EXPECT_EQ(m.api_keys.at(0).name, "");
}

TEST(ConfigLoader, ZeroDisablesQueueingAndLimits) {
  const Config c = load(R"(
queue: {timeout_ms: 0, max_waiting: 0}
models:
  m: {provider: mock, queue_timeout_ms: 0, cooldown_ms: 0, rpm: 0, tpm: 0}
)");
  EXPECT_EQ(c.queue.timeout_ms, 0);
  EXPECT_EQ(c.queue.max_waiting, 0);
  EXPECT_EQ(c.models.at(0).queue_timeout_ms, 0);
  EXPECT_EQ(c.models.at(0).cooldown_ms, 0);
}

TEST(ConfigLoader, RetryAndBreakerAreReadAndAModelOverridesSomeBreakerFields) {
  const Config c = load(R"(
retry: {max_model_failovers: 1, total_timeout_ms: 120000}
breaker: {failures: 4, window_ms: 20000, open_ms: 9000}
models:
  a: {provider: mock, total_timeout_ms: 5000, breaker: {failures: 2}}
  b: {provider: mock}
)");
  EXPECT_EQ(c.retry.max_model_failovers, 1);
  EXPECT_EQ(c.retry.total_timeout_ms, 120000);
  const auto& a = c.models.at(0);
  EXPECT_EQ(a.total_timeout_ms, 5000);
  EXPECT_EQ(a.breaker.failures, 2);
  EXPECT_EQ(a.breaker.window_ms, 20000);  // from the global breaker
  EXPECT_EQ(a.breaker.open_ms, 9000);
  const auto& b = c.models.at(1);
  EXPECT_EQ(b.total_timeout_ms, 0);
  EXPECT_EQ(b.breaker.failures, 4);
}

TEST(ConfigLoader, RetryAndBreakerDefaults) {
  const Config c = load(R"(
models:
  a: {provider: mock}
)");
  EXPECT_EQ(c.retry.max_model_failovers, 2);
  EXPECT_EQ(c.retry.total_timeout_ms, 300000);
  EXPECT_EQ(c.models.at(0).breaker.failures, 5);
  EXPECT_EQ(c.models.at(0).breaker.window_ms, 30000);
  EXPECT_EQ(c.models.at(0).breaker.open_ms, 30000);
}

TEST(ConfigLoader, BadRetryAndBreakerValuesNameFieldAndLine) {
  const auto issues = issues_of(R"(
retry:
  max_model_failovers: 11
  total_timeout_ms: 0
breaker:
  failures: -1
  window_ms: 0
  open_secs: 5
models:
  m:
    provider: mock
    total_timeout_ms: -1
    breaker: {open_ms: 0}
)");
  std::vector<std::string> lines;
  for (const auto& i : issues) lines.push_back(i.to_string());
  ASSERT_EQ(lines.size(), 7u) << ::testing::PrintToString(lines);
  EXPECT_EQ(lines[0], "test.yaml:2: retry.max_model_failovers: must be between 0 and 10, got 11");
  EXPECT_EQ(lines[1], "test.yaml:3: retry.total_timeout_ms: must be > 0, got 0");
  EXPECT_EQ(lines[2], "test.yaml:5: breaker.failures: must be between 0 and 1000, got -1");
  EXPECT_EQ(lines[3], "test.yaml:6: breaker.window_ms: must be > 0, got 0");
  EXPECT_NE(lines[4].find("test.yaml:7: breaker.open_secs: unknown key"), std::string::npos)
      << lines[4];
  EXPECT_EQ(lines[5], "test.yaml:11: models.m.total_timeout_ms: must be >= 0, got -1");
  EXPECT_EQ(lines[6], "test.yaml:12: models.m.breaker.open_ms: must be > 0, got 0");
}

TEST(ConfigLoader, BalancingValuesOutOfRangeNameFieldAndLine) {
  const auto issues = issues_of(R"(
queue:
  timeout_ms: -1
  max_waiting: -5
models:
  m:
    provider: mock
    rpm: -1
    tpm: -2
    decay_factor: 0
    cooldown_ms: -1
    queue_timeout_ms: -1
  n:
    provider: mock
    decay_factor: 1.5
  o:
    provider: mock
    decay_factor: 1
)");
  std::vector<std::string> lines;
  for (const auto& i : issues) lines.push_back(i.to_string());
  EXPECT_EQ(lines, (std::vector<std::string>{
                       "test.yaml:2: queue.timeout_ms: must be >= 0, got -1",
                       "test.yaml:3: queue.max_waiting: must be >= 0, got -5",
                       "test.yaml:7: models.m.rpm: must be >= 0, got -1",
                       "test.yaml:8: models.m.tpm: must be >= 0, got -2",
                       "test.yaml:9: models.m.decay_factor: must be > 0 and < 1, got 0",
                       "test.yaml:10: models.m.cooldown_ms: must be >= 0, got -1",
                       "test.yaml:11: models.m.queue_timeout_ms: must be >= 0, got -1",
                       "test.yaml:14: models.n.decay_factor: must be > 0 and < 1, got 1.5",
                       "test.yaml:17: models.o.decay_factor: must be > 0 and < 1, got 1",
                   }));
}

TEST(ConfigLoader, BalancingValuesOfTheWrongTypeAreNamed) {
  const auto issues = issues_of(R"(
queue: 5
admin:
  expose_keys: yes
models:
  m:
    provider: mock
    strategy: [qps]
    rpm: 1.5
    tpm: 1e5
    auto_weight: on
    api_keys:
      - {key: abcdefghijkl, name: ""}
)");
  std::vector<std::string> lines;
  for (const auto& i : issues) lines.push_back(i.to_string());
  EXPECT_EQ(lines, (std::vector<std::string>{
                       "test.yaml:1: queue: expected a mapping, got \"5\"",
                       "test.yaml:3: admin.expose_keys: expected true or false, got \"yes\"",
                       "test.yaml:7: models.m.strategy: expected a string, got a list",
                       "test.yaml:8: models.m.rpm: expected an integer, got \"1.5\"",
                       "test.yaml:9: models.m.tpm: expected an integer, got \"1e5\"",
                       "test.yaml:10: models.m.auto_weight: expected true or false, got \"on\"",
                       "test.yaml:12: models.m.api_keys[0].name: must not be empty",
                   }));
}

TEST(ConfigLoader, MisspelledBalancingKeysGetSuggestions) {
  const auto issues = issues_of(R"(
queue:
  max_wating: 5
admin:
  expose_key: true
  tokn: abc
models:
  m:
    provider: mock
    queue_timout_ms: 500
    decay_facter: 0.5
    autoweight: true
    stratgy: qps
    api_keys:
      - {key: abcdefghijkl, nmae: main}
)");
  std::vector<std::string> lines;
  for (const auto& i : issues) lines.push_back(i.to_string());
  EXPECT_EQ(lines,
            (std::vector<std::string>{
                "test.yaml:2: queue.max_wating: unknown key 'max_wating' (did you mean "
                "'max_waiting'?)",
                "test.yaml:4: admin.expose_key: unknown key 'expose_key' (did you mean "
                "'expose_keys'?)",
                "test.yaml:5: admin.tokn: unknown key 'tokn' (did you mean 'token'?)",
                "test.yaml:9: models.m.queue_timout_ms: unknown key 'queue_timout_ms' (did you "
                "mean 'queue_timeout_ms'?)",
                "test.yaml:10: models.m.decay_facter: unknown key 'decay_facter' (did you mean "
                "'decay_factor'?)",
                "test.yaml:11: models.m.autoweight: unknown key 'autoweight' (did you mean "
                "'auto_weight'?)",
                "test.yaml:12: models.m.stratgy: unknown key 'stratgy' (did you mean 'strategy'?)",
                "test.yaml:14: models.m.api_keys[0].nmae: unknown key 'nmae' (did you mean "
                "'name'?)",
            }));
}

TEST(ConfigLoader, ModelFieldAtTopLevelSaysWhereItBelongs) {
  EXPECT_EQ(error_of(R"(
rpm: 60
models:
  m: {provider: mock}
)"),
            "test.yaml:1: rpm: unknown key 'rpm' (it belongs under 'models.<name>')");
}

TEST(ConfigLoader, AdminTokenComesFromTheEnvironment) {
  const std::string yaml = R"(
admin:
  expose_keys: true
  token: ${BC_ADMIN_TOKEN}
models:
  m: {provider: mock}
)";
  const Config c = load(yaml, fake_env({{"BC_ADMIN_TOKEN", "t0ken-from-env-0001"}}));
  EXPECT_EQ(c.admin.token, "t0ken-from-env-0001");

  EXPECT_EQ(error_of(yaml),
            "test.yaml:3: admin.token: environment variable 'BC_ADMIN_TOKEN' is not set (write "
            "${BC_ADMIN_TOKEN:-default} to give a default)");
  // An empty token would guard nothing: leave the key out instead.
  EXPECT_EQ(error_of(yaml, fake_env({{"BC_ADMIN_TOKEN", ""}})),
            "test.yaml:3: admin.token: must not be empty (\"${BC_ADMIN_TOKEN}\" gives an empty "
            "string)");
}

TEST(ConfigLoader, StrategyNameIsReadAsWritten) {
  // The loader takes any non-empty name; the gateway checks it against the registry at startup.
  EXPECT_EQ(load("models: {m: {provider: mock, strategy: response_time}}\n").models.at(0).strategy,
            "response_time");
  EXPECT_EQ(error_of("models: {m: {provider: mock, strategy: \"\"}}\n"),
            "test.yaml:1: models.m.strategy: must not be empty");
}

TEST(ConfigLoader, MockModelWithoutKeysGetsOneImplicitKey) {
  const Config c = load("models: {m: {provider: mock}}\n");
  ASSERT_EQ(c.models.at(0).api_keys.size(), 1u);
  EXPECT_EQ(c.models[0].api_keys[0].name, "mock");
  EXPECT_FALSE(c.models[0].api_keys[0].key.empty());
}

TEST(ConfigLoader, EmbeddedDemoIsTheFileAndLoads) {
  std::ifstream in(BC_SOURCE_DIR "/config/demo.yaml", std::ios::binary);
  ASSERT_TRUE(in);
  std::ostringstream file;
  file << in.rdbuf();
  EXPECT_EQ(demo_config_yaml(), file.str());

  const Config c = load_demo_config();
  EXPECT_EQ(c.server.port, 9000);
  EXPECT_EQ(c.server.host, "127.0.0.1");
  ASSERT_EQ(c.models.size(), 2u);
  EXPECT_EQ(c.active_models().size(), 2u);
  for (const auto& m : c.models) {
    EXPECT_EQ(m.provider, "mock");
    EXPECT_GE(m.api_keys.size(), 2u);
    for (const auto& k : m.api_keys) EXPECT_FALSE(k.name.empty());
  }
  EXPECT_EQ(c.models[0].name, "mock-fast");
  EXPECT_EQ(c.models[0].model_weight, 3);
  EXPECT_EQ(c.models[1].name, "mock-smart");
  EXPECT_EQ(c.models[1].model_weight, 2);
}

TEST(ConfigLoader, ExampleFileLoadsWithItsEnvironment) {
  unsetenv("PORT");  // the file's port is ${PORT:-9000}
  ASSERT_EQ(setenv("DEEPSEEK_API_KEY", "sk-deepseek-test-0001", 1), 0);
  ASSERT_EQ(setenv("ZHIPU_KEY_1", "zhipu-test-key-0001", 1), 0);
  ASSERT_EQ(setenv("ZHIPU_KEY_2", "zhipu-test-key-0002", 1), 0);
  ASSERT_EQ(setenv("BC_ADMIN_TOKEN", "admin-test-token", 1), 0);
  ASSERT_EQ(setenv("ANTHROPIC_API_KEY", "sk-ant-test-0001", 1), 0);
  ASSERT_EQ(setenv("GEMINI_API_KEY", "gemini-test-key-0001", 1), 0);
  ASSERT_EQ(setenv("QIANFAN_API_KEY", "bce-v3/qianfan-test-0001", 1), 0);
  ASSERT_EQ(setenv("SPARK_API_PASSWORD", "spark-test-password", 1), 0);
  ASSERT_EQ(setenv("DASHSCOPE_API_KEY", "sk-dashscope-test-0001", 1), 0);
  ASSERT_EQ(setenv("MOONSHOT_API_KEY", "sk-moonshot-test-0001", 1), 0);
  ASSERT_EQ(setenv("SILICONFLOW_API_KEY", "sk-siliconflow-test-0001", 1), 0);
  ASSERT_EQ(setenv("OPENROUTER_API_KEY", "sk-or-test-0001", 1), 0);
  unsetenv("VLLM_API_KEY");    // optional: ${VLLM_API_KEY:-no-key}
  unsetenv("OLLAMA_API_KEY");  // optional: ${OLLAMA_API_KEY:-ollama}
  const Config c = load_config_file(BC_SOURCE_DIR "/config/example.yaml");
  const ModelConfig* ds = c.find_model("deepseek-chat");
  ASSERT_NE(ds, nullptr);
  EXPECT_EQ(ds->provider, "openai");
  EXPECT_EQ(ds->base_url, "https://api.deepseek.com/v1");
  EXPECT_EQ(ds->api_keys.at(0).key, "sk-deepseek-test-0001");
  const ModelConfig* glm = c.find_model("glm-4-flash");
  ASSERT_NE(glm, nullptr);
  EXPECT_EQ(glm->provider, "zhipu");
  EXPECT_EQ(glm->base_url, "https://open.bigmodel.cn/api/paas/v4");
  ASSERT_EQ(glm->api_keys.size(), 2u);
  EXPECT_EQ(glm->api_keys[0].key, "zhipu-test-key-0001");
  EXPECT_EQ(glm->api_keys[1].key, "zhipu-test-key-0002");
  EXPECT_EQ(c.active_models().size(), 3u);
  EXPECT_EQ(c.models.size(), 15u);
  EXPECT_EQ(c.server.port, 9000);
  EXPECT_EQ(c.server.max_body_bytes, 8u * 1024 * 1024);
  EXPECT_EQ(c.queue.timeout_ms, 10'000);
  EXPECT_EQ(c.queue.max_waiting, 10'000);
  EXPECT_FALSE(c.admin.expose_keys);
  EXPECT_EQ(c.admin.token, "admin-test-token");
  EXPECT_EQ(ds->api_keys.at(0).name, "deepseek-main");
  EXPECT_EQ(ds->strategy, "concurrency");
  EXPECT_EQ(ds->decay_factor, 0.8);
  EXPECT_EQ(ds->cooldown_ms, 5000);
  EXPECT_EQ(ds->queue_timeout_ms, 10'000);
  EXPECT_EQ(glm->rpm, 30);
  EXPECT_EQ(glm->queue_timeout_ms, 3000);
  const ModelConfig* echo = c.find_model("mock-echo");
  ASSERT_NE(echo, nullptr);
  EXPECT_EQ(echo->strategy, "response_time");
  EXPECT_EQ(echo->decay_factor, 0.9);
  EXPECT_TRUE(echo->auto_weight);
  const ModelConfig* reasoner = c.find_model("deepseek-reasoner");
  ASSERT_NE(reasoner, nullptr);
  EXPECT_EQ(reasoner->strategy, "tokens");
  EXPECT_EQ(reasoner->rpm, 60);
  EXPECT_EQ(reasoner->tpm, 100'000);
  EXPECT_FALSE(glm->jwt_auth);
  // One ready entry per other wire format, keys from the environment.
  const std::vector<std::tuple<std::string, std::string, std::string>> entries = {
      {"claude-haiku", "anthropic", "sk-ant-test-0001"},
      {"gemini-flash", "gemini", "gemini-test-key-0001"},
      {"llama-local", "ollama", "ollama"},
      {"ernie-speed", "baidu", "bce-v3/qianfan-test-0001"},
      {"spark-lite", "spark", "spark-test-password"},
      {"qwen-plus", "openai", "sk-dashscope-test-0001"},
      {"moonshot-8k", "openai", "sk-moonshot-test-0001"},
      {"siliconflow-qwen", "openai", "sk-siliconflow-test-0001"},
      {"openrouter-llama", "openai", "sk-or-test-0001"},
      {"vllm-local", "openai", "no-key"},
      {"ollama-openai", "openai", "ollama"},
  };
  for (const auto& [name, provider, key] : entries) {
    const ModelConfig* m = c.find_model(name);
    ASSERT_NE(m, nullptr) << name;
    EXPECT_EQ(m->provider, provider) << name;
    ASSERT_EQ(m->api_keys.size(), 1u) << name;
    EXPECT_EQ(m->api_keys[0].key, key) << name;
  }

  // Without the variables the file names each one that is missing.
  ASSERT_EQ(unsetenv("ZHIPU_KEY_2"), 0);
  try {
    load_config_file(BC_SOURCE_DIR "/config/example.yaml");
    ADD_FAILURE() << "expected ConfigError";
  } catch (const ConfigError& e) {
    ASSERT_EQ(e.issues().size(), 1u);
    EXPECT_EQ(e.issues()[0].path, "models.glm-4-flash.api_keys[1].key");
    EXPECT_NE(e.issues()[0].message.find("'ZHIPU_KEY_2' is not set"), std::string::npos);
  }
  unsetenv("DEEPSEEK_API_KEY");
  unsetenv("ZHIPU_KEY_1");
  unsetenv("BC_ADMIN_TOKEN");
  unsetenv("ANTHROPIC_API_KEY");
  unsetenv("GEMINI_API_KEY");
  unsetenv("QIANFAN_API_KEY");
  unsetenv("SPARK_API_PASSWORD");
  unsetenv("DASHSCOPE_API_KEY");
  unsetenv("MOONSHOT_API_KEY");
  unsetenv("SILICONFLOW_API_KEY");
  unsetenv("OPENROUTER_API_KEY");
}

TEST(ConfigLoader, ReadsClientKeysAndTheAccessLog) {
  const Config c = load(R"(
auth:
  client_keys:
    - {name: web, key: "${WEB_KEY}"}
    - {name: batch, key: cli-batch-key-0000001, models: [m], rpm: 30}
log: {access: off}
models:
  m: {provider: mock}
)",
                        fake_env({{"WEB_KEY", "cli-web-key-00000001"}}));
  ASSERT_EQ(c.auth.client_keys.size(), 2u);
  EXPECT_EQ(c.auth.client_keys[0].name, "web");
  EXPECT_EQ(c.auth.client_keys[0].key, "cli-web-key-00000001");
  EXPECT_TRUE(c.auth.client_keys[0].models.empty());
  EXPECT_EQ(c.auth.client_keys[1].models, std::vector<std::string>{"m"});
  EXPECT_EQ(c.auth.client_keys[1].rpm, 30);
  EXPECT_EQ(c.log.access, "off");
  EXPECT_TRUE(load("models:\n  m: {provider: mock}\n").auth.client_keys.empty());
  EXPECT_EQ(load("models:\n  m: {provider: mock}\n").log.access, "off");
}

TEST(ConfigLoader, RejectsBadClientKeys) {
  const auto issues = issues_of(R"(
auth:
  client_keys:
    - {name: a, key: client-key-00001}
    - {name: a, key: client-key-00002}
    - {name: b, key: client-key-00001}
    - {name: c}
    - {name: d, key: client-key-00004, rpm: -1, colour: red}
    - {name: e, key: client-key-00005, models: [mm]}
models:
  m: {provider: mock}
)");
  std::string all;
  for (const auto& i : issues) all += i.to_string() + "\n";
  EXPECT_NE(all.find("auth.client_keys[5].models[0]: model 'mm' is not configured under "
                     "'models' (did you mean 'm'?)"),
            std::string::npos)
      << all;
  EXPECT_NE(all.find("test.yaml:4: auth.client_keys[1]: duplicate client name 'a'"),
            std::string::npos)
      << all;
  EXPECT_NE(all.find("test.yaml:5: auth.client_keys[2]: the same key as another client"),
            std::string::npos)
      << all;
  EXPECT_NE(all.find("auth.client_keys[3].key: missing required field"), std::string::npos) << all;
  EXPECT_NE(all.find("auth.client_keys[4].rpm"), std::string::npos) << all;
  EXPECT_NE(all.find("colour"), std::string::npos) << all;
}

TEST(ConfigLoader, ClientKeysAndTheAdminTokenNeedSixteenCharacters) {
  const auto issues = issues_of(R"(
admin: {token: short-admin}
auth:
  client_keys:
    - {name: a, key: client-key-0001}
    - {name: b, key: client-key-00002}
models:
  m: {provider: mock}
)");
  ASSERT_EQ(issues.size(), 2u);
  EXPECT_EQ(issues[0].to_string(),
            "test.yaml:1: admin.token: is 11 characters; at least 16 are required (e.g. openssl "
            "rand -hex 16)");
  EXPECT_EQ(issues[1].to_string(),
            "test.yaml:4: auth.client_keys[0].key: is 15 characters; at least 16 are required "
            "(e.g. openssl rand -hex 16)");
}

TEST(ConfigLoader, ReadsTheApplicationLogSettings) {
  const Config defaults = load("models: {m: {provider: mock}}\n");
  EXPECT_EQ(defaults.log.level, "info");
  EXPECT_EQ(defaults.log.format, "text");
  EXPECT_EQ(defaults.log.file, "");
  const Config c = load(
      "log: {level: debug, format: json, file: /var/log/balancedcall/app.log}\n"
      "models: {m: {provider: mock}}\n");
  EXPECT_EQ(c.log.level, "debug");
  EXPECT_EQ(c.log.format, "json");
  EXPECT_EQ(c.log.file, "/var/log/balancedcall/app.log");
  const auto issues =
      issues_of("log: {level: verbose, format: xml}\nmodels: {m: {provider: mock}}\n");
  ASSERT_EQ(issues.size(), 2u);
  EXPECT_EQ(issues[0].to_string(),
            "test.yaml:1: log.level: 'verbose' is not one of error, warn, info, debug");
  EXPECT_EQ(issues[1].to_string(), "test.yaml:1: log.format: 'xml' is not one of text, json");
}

// A temp folder with the files named, removed at the end of the test.
class TempFiles {
 public:
  explicit TempFiles(std::initializer_list<const char*> names)
      : dir_(std::filesystem::temp_directory_path() /
             ("bc_loader_test_" + std::to_string(::getpid()) + "_" +
              ::testing::UnitTest::GetInstance()->current_test_info()->name())) {
    std::filesystem::create_directories(dir_);
    for (const char* name : names) std::ofstream(dir_ / name) << "pem\n";
  }
  ~TempFiles() { std::filesystem::remove_all(dir_); }
  std::string path(const char* name) const { return (dir_ / name).string(); }

 private:
  std::filesystem::path dir_;
};

TEST(ConfigLoader, TlsFieldsDefaultToVerifiedUpstreamsAndPlainListener) {
  const Config c = load(R"(
models:
  m: {provider: openai, base_url: "https://api.example.com/v1", api_keys: [sk-abcdefghijkl]}
)");
  EXPECT_FALSE(c.server.tls.enabled());
  EXPECT_EQ(c.upstream.ca_file, "");
  EXPECT_TRUE(c.models.at(0).tls_verify);
  EXPECT_EQ(c.models.at(0).ca_file, "");
}

TEST(ConfigLoader, TlsFieldsAreReadWithRelativePathsFromTheConfigFolder) {
  TempFiles files({"cert.pem", "key.pem", "ca.pem", "local-ca.pem"});
  std::ofstream(files.path("bc.yaml")) << R"(
server:
  tls:
    cert_file: cert.pem
    key_file: )" << files.path("key.pem")
                                       << R"(
upstream:
  ca_file: ./ca.pem
models:
  local:
    provider: openai
    base_url: "https://127.0.0.1:8443/v1"
    api_keys: [sk-abcdefghijkl]
    tls_verify: false
  internal:
    provider: openai
    base_url: "https://llm.internal/v1"
    api_keys: [sk-mnopqrstuvwx]
    ca_file: local-ca.pem
)";
  const Config c = load_config_file(files.path("bc.yaml"));
  EXPECT_TRUE(c.server.tls.enabled());
  EXPECT_EQ(c.server.tls.cert_file, files.path("cert.pem"));
  EXPECT_EQ(c.server.tls.key_file, files.path("key.pem"));
  EXPECT_EQ(c.upstream.ca_file, files.path("ca.pem"));
  EXPECT_FALSE(c.find_model("local")->tls_verify);
  EXPECT_EQ(c.find_model("local")->ca_file, "");
  EXPECT_TRUE(c.find_model("internal")->tls_verify);
  EXPECT_EQ(c.find_model("internal")->ca_file, files.path("local-ca.pem"));
}

TEST(ConfigLoader, ListenerTlsNeedsBothFiles) {
  TempFiles files({"cert.pem"});
  const std::string yaml = R"(
server:
  tls:
    cert_file: )" + files.path("cert.pem") +
                           R"(
models:
  m: {provider: mock}
)";
  EXPECT_EQ(error_of(yaml),
            "test.yaml:2: server.tls: needs both cert_file and key_file (remove 'tls' to serve "
            "plain HTTP)");
}

TEST(ConfigLoader, UnreadableTlsFilesAreNamedWithFieldAndLine) {
  const auto issues = issues_of(R"(
server:
  tls:
    cert_file: /nonexistent/bc/cert.pem
    key_file: /nonexistent/bc/key.pem
upstream:
  ca_file: /nonexistent/bc/ca.pem
models:
  m:
    provider: openai
    base_url: "https://api.example.com/v1"
    api_keys: [sk-abcdefghijkl]
    ca_file: /nonexistent/bc/model-ca.pem
)");
  std::vector<std::string> lines;
  for (const auto& i : issues) lines.push_back(i.to_string());
  EXPECT_EQ(lines, (std::vector<std::string>{
                       "test.yaml:3: server.tls.cert_file: cannot read '/nonexistent/bc/cert.pem': "
                       "No such file or directory",
                       "test.yaml:4: server.tls.key_file: cannot read '/nonexistent/bc/key.pem': "
                       "No such file or directory",
                       "test.yaml:6: upstream.ca_file: cannot read '/nonexistent/bc/ca.pem': No "
                       "such file or directory",
                       "test.yaml:12: models.m.ca_file: cannot read "
                       "'/nonexistent/bc/model-ca.pem': No such file or directory",
                   }));
}

TEST(ConfigLoader, TlsFieldsOfTheWrongTypeOrMisspelledAreNamed) {
  TempFiles files({"ca.pem"});
  const auto issues = issues_of(R"(
server:
  tls:
    cert: a.pem
    key_file: [b.pem]
models:
  m:
    provider: openai
    base_url: "https://api.example.com/v1"
    api_keys: [sk-abcdefghijkl]
    tls_verify: maybe
  n:
    provider: openai
    base_url: "https://127.0.0.1:8443/v1"
    api_keys: [sk-mnopqrstuvwx]
    tls_verify: false
    ca_file: )" + files.path("ca.pem") +
                                R"(
  o:
    provider: openai
    base_url: "https://127.0.0.1:8443/v1"
    api_keys: [sk-yzabcdefghij]
    tls_verfy: false
)");
  std::vector<std::string> lines;
  for (const auto& i : issues) lines.push_back(i.to_string());
  EXPECT_EQ(lines,
            (std::vector<std::string>{
                "test.yaml:2: server.tls: needs both cert_file and key_file (remove 'tls' to "
                "serve plain HTTP)",
                "test.yaml:3: server.tls.cert: unknown key 'cert'",
                "test.yaml:4: server.tls.key_file: expected a string, got a list",
                "test.yaml:10: models.m.tls_verify: expected true or false, got \"maybe\"",
                "test.yaml:16: models.n.ca_file: has no effect with tls_verify: false (nothing "
                "is verified); remove one",
                "test.yaml:21: models.o.tls_verfy: unknown key 'tls_verfy' (did you mean "
                "'tls_verify'?)",
            }));
}

TEST(ConfigLoader, MetricsPerKeyIsOnUnlessTurnedOff) {
  const Config on = load(R"(
models:
  m: {provider: mock}
)");
  EXPECT_TRUE(on.metrics.per_key);
  const Config off = load(R"(
models:
  m: {provider: mock}
metrics:
  per_key: false
)");
  EXPECT_FALSE(off.metrics.per_key);
  EXPECT_EQ(error_of(R"(
metrics:
  per_keys: false
models:
  m: {provider: mock}
)"),
            "test.yaml:2: metrics.per_keys: unknown key 'per_keys' (did you mean 'per_key'?)");
}

}  // namespace
}  // namespace bc::config
