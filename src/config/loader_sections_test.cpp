// The config loader's smaller sections: stream pacing, server caps, admin, client keys, logs,
// TLS and metrics.
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

namespace bc::config {
namespace {

using testing::error_of;
using testing::load;

TEST(ConfigLoader, EmbeddingModels) {
  const Config c = load(R"(
models:
  chat: {provider: mock}
  emb: {provider: mock, embeddings: true}
)");
  EXPECT_FALSE(c.find_model("chat")->embeddings);
  EXPECT_TRUE(c.find_model("emb")->embeddings);
  EXPECT_EQ(error_of("models:\n  emb: {provider: mock, embeddings: 1}\n"),
            "test.yaml:2: models.emb.embeddings: expected true or false, got \"1\"");
  EXPECT_EQ(error_of("models:\n  emb:\n    provider: mock\n    embeddings: true\n"
                     "    supports_tools: true\n"),
            "test.yaml:5: models.emb.supports_tools: an embedding model (embeddings: true) "
            "takes no tools; remove one");
}

}  // namespace
}  // namespace bc::config
