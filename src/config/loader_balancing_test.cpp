// The config loader's balancing fields (limits, strategies, retry and breaker), and the demo
// and example configs loading whole.
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
#include "providers/zhipu.h"

namespace bc::config {
namespace {

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
  ASSERT_EQ(c.models.size(), 3u);
  EXPECT_EQ(c.active_models().size(), 3u);
  for (const auto& m : c.models) {
    EXPECT_EQ(m.provider, "mock");
    EXPECT_GE(m.api_keys.size(), 2u);
    for (const auto& k : m.api_keys) EXPECT_FALSE(k.name.empty());
  }
  EXPECT_EQ(c.models[0].name, "mock-fast");
  EXPECT_EQ(c.models[0].model_weight, 3);
  EXPECT_EQ(c.models[1].name, "mock-smart");
  EXPECT_EQ(c.models[1].model_weight, 2);
  EXPECT_EQ(c.models[2].name, "mock-embed");
  EXPECT_TRUE(c.models[2].embeddings);
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
  EXPECT_EQ(c.models.size(), 16u);
  const ModelConfig* embedding = c.find_model("embedding-3");
  ASSERT_NE(embedding, nullptr);
  EXPECT_TRUE(embedding->embeddings);
  EXPECT_EQ(embedding->provider, "zhipu");
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
  EXPECT_FALSE(std::any_cast<providers::ZhipuOptions>(glm->own_options).jwt_auth);
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

}  // namespace
}  // namespace bc::config
