// Runs the real mockllm binary as a child process on a loopback port and speaks HTTP to it.
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <cstring>
#include <functional>
#include <optional>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>
#include <boost/json.hpp>

extern char** environ;

namespace bc::mockllm {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace json = boost::json;
using asio::awaitable;
using asio::use_awaitable;
using tcp = asio::ip::tcp;
using Clock = std::chrono::steady_clock;
using namespace std::chrono_literals;

constexpr auto kTuple = asio::as_tuple(use_awaitable);

// The mock as a child process: started on port 0, its port read from the one line it prints.
class MockProcess {
 public:
  MockProcess() {
    int fds[2];
    if (pipe2(fds, O_CLOEXEC) != 0) throw std::runtime_error("pipe2 failed");
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_adddup2(&actions, fds[1], STDOUT_FILENO);
    std::string path = MOCKLLM_PATH;
    std::string port_flag = "--port";
    std::string zero = "0";
    char* argv[] = {path.data(), port_flag.data(), zero.data(), nullptr};
    const int rc = posix_spawn(&pid_, path.c_str(), &actions, nullptr, argv, environ);
    posix_spawn_file_actions_destroy(&actions);
    ::close(fds[1]);
    out_ = fds[0];
    if (rc != 0) throw std::runtime_error("cannot start " + path + ": " + std::strerror(rc));
    const auto line = read_line(10s);
    const std::string prefix = "mockllm listening on http://127.0.0.1:";
    if (!line.starts_with(prefix)) throw std::runtime_error("unexpected banner: " + line);
    port_ = static_cast<unsigned short>(std::stoi(line.substr(prefix.size())));
  }
  MockProcess(const MockProcess&) = delete;
  MockProcess& operator=(const MockProcess&) = delete;
  ~MockProcess() {
    if (pid_ > 0) stop();
    if (out_ >= 0) ::close(out_);
  }

  unsigned short port() const { return port_; }

  // SIGTERM, then the wait status (SIGKILL after 5 s so a test can never hang here).
  int stop() {
    ::kill(pid_, SIGTERM);
    int status = 0;
    const auto deadline = Clock::now() + 5s;
    while (::waitpid(pid_, &status, WNOHANG) == 0) {
      if (Clock::now() > deadline) {
        ::kill(pid_, SIGKILL);
        ::waitpid(pid_, &status, 0);
        break;
      }
      std::this_thread::sleep_for(5ms);
    }
    pid_ = -1;
    return status;
  }

 private:
  std::string read_line(std::chrono::milliseconds limit) {
    std::string line;
    const auto deadline = Clock::now() + limit;
    while (Clock::now() < deadline) {
      pollfd p{out_, POLLIN, 0};
      if (::poll(&p, 1, 100) <= 0) continue;
      char c = 0;
      if (::read(out_, &c, 1) != 1) break;
      if (c == '\n') return line;
      line += c;
    }
    throw std::runtime_error("mockllm printed no banner: '" + line + "'");
  }

  pid_t pid_ = -1;
  int out_ = -1;
  unsigned short port_ = 0;
};

struct Reply {
  int status = 0;
  http::fields headers;
  std::string body;
  bool complete = false;  // the message ended as HTTP framing says
};

// Runs `task` on a fresh io_context for at most `limit`.
template <class T>
T run(awaitable<T> task, std::chrono::milliseconds limit = 10s) {
  asio::io_context io;
  std::optional<T> out;
  std::exception_ptr failure;
  asio::co_spawn(io, std::move(task), [&](std::exception_ptr e, T value) {
    failure = e;
    if (!e) out = std::move(value);
  });
  io.run_for(limit);
  if (failure) std::rethrow_exception(failure);
  if (!out) throw std::runtime_error("timed out");
  return std::move(*out);
}

http::request<http::string_body> make_request(http::verb verb, std::string_view target,
                                              std::string_view key, std::string body) {
  http::request<http::string_body> request{verb, target, 11};
  request.set(http::field::host, "127.0.0.1");
  if (!key.empty()) request.set(http::field::authorization, "Bearer " + std::string(key));
  if (!body.empty()) request.set(http::field::content_type, "application/json");
  request.body() = std::move(body);
  request.prepare_payload();
  return request;
}

std::string chat_body(bool stream, std::string_view model = "gpt-test", bool usage = false) {
  json::object body{{"model", model},
                    {"messages", json::array{{{"role", "user"}, {"content", "say hi please"}}}}};
  if (stream) body["stream"] = true;
  if (usage) body["stream_options"] = {{"include_usage", true}};
  return json::serialize(body);
}

awaitable<tcp::socket> connect(unsigned short port) {
  tcp::socket socket(co_await asio::this_coro::executor);
  co_await socket.async_connect({asio::ip::make_address("127.0.0.1"), port}, use_awaitable);
  co_return socket;
}

awaitable<Reply> read_reply(tcp::socket& socket, beast::flat_buffer& buffer) {
  http::response_parser<http::string_body> parser;
  parser.body_limit(boost::none);
  // An error is expected in the cut cases: the reply is then incomplete.
  const auto [ec, bytes] = co_await http::async_read(socket, buffer, parser, kTuple);
  Reply reply;
  reply.complete = !ec;
  if (parser.is_header_done()) {
    reply.status = parser.get().result_int();
    reply.headers = parser.get().base();
  }
  reply.body = parser.get().body();
  co_return reply;
}

awaitable<Reply> fetch(unsigned short port, http::request<http::string_body> request) {
  auto socket = co_await connect(port);
  co_await http::async_write(socket, request, use_awaitable);
  beast::flat_buffer buffer;
  co_return co_await read_reply(socket, buffer);
}

// The data payloads of an SSE body.
std::vector<std::string> sse_payloads(std::string_view body) {
  std::vector<std::string> out;
  while (!body.empty()) {
    const auto end = body.find("\n\n");
    const auto event = body.substr(0, end);
    if (event.starts_with("data: ")) out.emplace_back(event.substr(6));
    if (end == std::string_view::npos) break;
    body.remove_prefix(end + 2);
  }
  return out;
}

bool is_json(std::string_view text) {
  boost::system::error_code ec;
  json::parse(text, ec);
  return !ec;
}

class MockLlm : public ::testing::Test {
 protected:
  Reply post(std::string_view path, std::string_view key, std::string body) {
    return run(fetch(mock_.port(), make_request(http::verb::post, path, key, std::move(body))));
  }
  Reply chat(std::string_view key, bool stream, bool usage = false) {
    return post("/v1/chat/completions", key, chat_body(stream, "gpt-test", usage));
  }
  json::object stats() {
    const auto reply =
        run(fetch(mock_.port(), make_request(http::verb::get, "/_mock/stats", "", "")));
    EXPECT_EQ(reply.status, 200);
    return json::parse(reply.body).as_object();
  }
  json::object key_stats(std::string_view name) {
    auto all = stats();
    const auto* key = all.at("keys").as_object().if_contains(name);
    return key ? key->as_object() : json::object{};
  }
  // Polls the stats until `done` holds for key `name` or `limit` passes; the time it took.
  Clock::duration wait_for_key(std::string_view name,
                               const std::function<bool(const json::object&)>& done,
                               Clock::duration limit = 3s) {
    const auto start = Clock::now();
    while (Clock::now() - start < limit) {
      if (done(key_stats(name))) break;
      std::this_thread::sleep_for(5ms);
    }
    return Clock::now() - start;
  }

  MockProcess mock_;
};

TEST_F(MockLlm, OpenAiNonStreamAnswersWithModelKeyAndUsage) {
  const auto reply = chat("alpha;tokens=6", false);
  ASSERT_EQ(reply.status, 200);
  EXPECT_TRUE(reply.complete);
  EXPECT_EQ(reply.headers[http::field::content_type], "application/json");
  const auto doc = json::parse(reply.body).as_object();
  EXPECT_EQ(doc.at("object"), "chat.completion");
  EXPECT_EQ(doc.at("model"), "gpt-test");
  EXPECT_EQ(doc.at("choices").at(0).at("message").at("content"), "Hello from gpt-test via alpha.");
  EXPECT_EQ(doc.at("usage").at("completion_tokens"), 6);
  EXPECT_EQ(doc.at("usage").at("prompt_tokens"), 3);
  EXPECT_EQ(doc.at("usage").at("total_tokens"), 9);
}

TEST_F(MockLlm, OpenAiStreamSendsRoleChunkPiecesFinishUsageAndDone) {
  const auto reply = chat("beta;gap=1", true, true);
  ASSERT_EQ(reply.status, 200);
  EXPECT_TRUE(reply.complete);
  EXPECT_TRUE(reply.headers[http::field::content_type].starts_with("text/event-stream"));
  const auto events = sse_payloads(reply.body);
  // role, 5 pieces, finish, usage, [DONE]
  ASSERT_EQ(events.size(), 9u);
  EXPECT_EQ(json::parse(events[0]).at("choices").at(0).at("delta").at("role"), "assistant");
  std::string text;
  for (std::size_t i = 1; i <= 5; ++i) {
    const auto chunk = json::parse(events[i]);
    EXPECT_EQ(chunk.at("object"), "chat.completion.chunk");
    text += chunk.at("choices").at(0).at("delta").at("content").as_string();
  }
  EXPECT_EQ(text, "Hello from gpt-test via beta");
  EXPECT_EQ(json::parse(events[6]).at("choices").at(0).at("finish_reason"), "stop");
  EXPECT_EQ(json::parse(events[7]).at("usage").at("completion_tokens"), 5);
  EXPECT_EQ(events[8], "[DONE]");

  // The non-stream content is the concatenation of the deltas.
  const auto whole = json::parse(chat("beta", false).body);
  EXPECT_EQ(whole.at("choices").at(0).at("message").at("content").as_string(), text);
}

TEST_F(MockLlm, RateLimitedKeyGets429WithRetryAfterInOpenAiShape) {
  const auto reply = chat("limited;status=429;retry_after=7", false);
  EXPECT_EQ(reply.status, 429);
  EXPECT_EQ(reply.headers[http::field::retry_after], "7");
  const auto error = json::parse(reply.body).at("error");
  EXPECT_EQ(error.at("code"), "rate_limit_exceeded");
  EXPECT_TRUE(error.at("message").is_string());

  const auto without_hint = chat("limited;status=429", true);
  EXPECT_EQ(without_hint.status, 429);
  EXPECT_EQ(without_hint.headers.count(http::field::retry_after), 0u);
  EXPECT_EQ(key_stats("limited").at("completed"), 2u);
}

TEST_F(MockLlm, MissingBearerKeyIs401AndMissingMessagesIs400) {
  const auto anonymous = post("/v1/chat/completions", "", chat_body(false));
  EXPECT_EQ(anonymous.status, 401);
  EXPECT_EQ(json::parse(anonymous.body).at("error").at("code"), "invalid_api_key");

  const auto no_messages = post("/v1/chat/completions", "k", R"({"model":"m"})");
  EXPECT_EQ(no_messages.status, 400);
  EXPECT_TRUE(json::parse(no_messages.body).at("error").at("message").is_string());

  const auto zhipu = post("/api/paas/v4/chat/completions", "k", "not json");
  EXPECT_EQ(zhipu.status, 400);
  EXPECT_TRUE(json::parse(zhipu.body).at("error").at("code").is_string());
}

TEST_F(MockLlm, CutStreamStopsAfterTheGivenChunksWithoutDone) {
  const auto reply = chat("cutter;cut_after=2;gap=1", true);
  EXPECT_EQ(reply.status, 200);
  EXPECT_FALSE(reply.complete);
  const auto events = sse_payloads(reply.body);
  ASSERT_EQ(events.size(), 3u);  // role + 2 pieces
  EXPECT_EQ(json::parse(events[2]).at("choices").at(0).at("delta").at("content"), " from");
  EXPECT_EQ(reply.body.find("[DONE]"), std::string::npos);
  // A deliberate cut is the mock's answer, not the client going away.
  const auto key = key_stats("cutter");
  EXPECT_EQ(key.at("completed"), 1u);
  EXPECT_EQ(key.at("client_closed"), 0u);
}

TEST_F(MockLlm, CutNonStreamDeliversLessThanItsContentLength) {
  const auto reply = chat("cutter;cut_after=0", false);
  EXPECT_EQ(reply.status, 200);
  EXPECT_FALSE(reply.complete);
  const auto announced = std::stoul(std::string(reply.headers[http::field::content_length]));
  EXPECT_LT(reply.body.size(), announced);
  EXPECT_GT(reply.body.size(), 0u);
}

TEST_F(MockLlm, MalformedNonStreamIs200WithABodyThatIsNotJson) {
  const auto reply = chat("broken;malformed", false);
  EXPECT_EQ(reply.status, 200);
  EXPECT_TRUE(reply.complete);
  EXPECT_FALSE(reply.body.empty());
  EXPECT_FALSE(is_json(reply.body));
}

TEST_F(MockLlm, MalformedStreamHasOneBrokenDataLineAfterTheFirstPiece) {
  const auto reply = chat("broken;malformed;gap=1", true);
  EXPECT_EQ(reply.status, 200);
  const auto events = sse_payloads(reply.body);
  ASSERT_GE(events.size(), 4u);
  EXPECT_TRUE(is_json(events[1]));
  EXPECT_FALSE(is_json(events[2]));
  EXPECT_TRUE(is_json(events[3]));
  EXPECT_EQ(events.back(), "[DONE]");
}

TEST_F(MockLlm, ErrorInStreamSendsAnErrorEventAndNoDone) {
  const auto reply = chat("flaky;error_in_stream;gap=1", true);
  EXPECT_EQ(reply.status, 200);
  EXPECT_TRUE(reply.complete);
  const auto events = sse_payloads(reply.body);
  ASSERT_EQ(events.size(), 3u);  // role, first piece, error
  EXPECT_TRUE(json::parse(events[2]).as_object().contains("error"));
}

TEST_F(MockLlm, FailFirstFailsTheFirstRequestsOfTheKeyNameOnly) {
  EXPECT_EQ(chat("warmup;fail_first=2;status=503", false).status, 503);
  EXPECT_EQ(chat("warmup;fail_first=2;status=503", true).status, 503);
  EXPECT_EQ(chat("warmup;fail_first=2;status=503", false).status, 200);
  EXPECT_EQ(chat("other;fail_first=1", false).status, 500);
  EXPECT_EQ(chat("other;fail_first=1", false).status, 200);
}

TEST_F(MockLlm, ZhipuSpeaksGlmShapes) {
  const auto whole =
      post("/api/paas/v4/chat/completions", "glmkey", chat_body(false, "glm-4-flash"));
  ASSERT_EQ(whole.status, 200);
  const auto doc = json::parse(whole.body).as_object();
  EXPECT_FALSE(doc.contains("object"));
  EXPECT_EQ(doc.at("request_id"), doc.at("id"));
  EXPECT_EQ(doc.at("choices").at(0).at("message").at("content"),
            "Hello from glm-4-flash via glmkey");

  const auto stream =
      post("/api/paas/v4/chat/completions", "glmkey;gap=1", chat_body(true, "glm-4-flash"));
  const auto events = sse_payloads(stream.body);
  ASSERT_EQ(events.size(), 7u);  // 5 pieces, final chunk with usage, [DONE]
  EXPECT_EQ(json::parse(events[0]).at("choices").at(0).at("delta").at("role"), "assistant");
  EXPECT_EQ(json::parse(events[5]).at("usage").at("completion_tokens"), 5);
  EXPECT_EQ(events[6], "[DONE]");

  const auto limited =
      post("/api/paas/v4/chat/completions", "glmkey;status=429", chat_body(false, "glm-4-flash"));
  EXPECT_EQ(limited.status, 429);
  EXPECT_EQ(json::parse(limited.body).at("error").at("code"), "1302");
}

// ---- The other providers' formats, through the real binary ----

enum class Provider { kAnthropic, kGemini, kOllama, kBaiduV2, kBaiduLegacy, kSpark };

std::string provider_name(Provider p) {
  switch (p) {
    case Provider::kAnthropic:
      return "anthropic";
    case Provider::kGemini:
      return "gemini";
    case Provider::kOllama:
      return "ollama";
    case Provider::kBaiduV2:
      return "baidu_v2";
    case Provider::kBaiduLegacy:
      return "baidu_legacy";
    case Provider::kSpark:
      return "spark";
  }
  return "?";
}

std::string percent_encode(std::string_view text) {
  static constexpr std::string_view kHex = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : text) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 0xf];
    }
  }
  return out;
}

// Events of a stream body separated by `separator`.
std::vector<std::string> split_events(std::string_view body, std::string_view separator) {
  std::vector<std::string> out;
  while (!body.empty()) {
    const auto end = body.find(separator);
    if (end == std::string_view::npos) {
      out.emplace_back(body);
      break;
    }
    out.emplace_back(body.substr(0, end));
    body.remove_prefix(end + separator.size());
  }
  return out;
}

// Anthropic events: name and payload.
std::vector<std::pair<std::string, json::value>> named_events(std::string_view body) {
  std::vector<std::pair<std::string, json::value>> out;
  for (const auto& event : split_events(body, "\n\n")) {
    const auto newline = event.find('\n');
    if (!event.starts_with("event: ") || newline == std::string::npos) continue;
    const auto data = event.substr(newline + 1);
    if (!data.starts_with("data: ")) continue;
    boost::system::error_code ec;
    auto doc = json::parse(data.substr(6), ec);
    out.emplace_back(event.substr(7, newline - 7), ec ? json::value() : std::move(doc));
  }
  return out;
}

class MockLlmProviders : public MockLlm {
 protected:
  // A chat request for provider `p` carrying `key`, for model `model`; with a tool when `tools`.
  http::request<http::string_body> provider_request(Provider p, std::string_view key, bool stream,
                                                    bool tools = false,
                                                    std::string_view model = "m-test") {
    const json::array user_messages{{{"role", "user"}, {"content", "say hi please"}}};
    const json::array openai_tools{
        {{"type", "function"},
         {"function", {{"name", "get_weather"}, {"parameters", {{"type", "object"}}}}}}};
    json::object body;
    std::string target;
    http::request<http::string_body> request;
    switch (p) {
      case Provider::kAnthropic:
        target = "/v1/messages";
        body = {{"model", model}, {"max_tokens", 100}, {"messages", user_messages}};
        if (stream) body["stream"] = true;
        if (tools) {
          body["tools"] =
              json::array{{{"name", "get_weather"}, {"input_schema", {{"type", "object"}}}}};
        }
        request = make_request(http::verb::post, target, "", "");
        if (!key.empty()) request.set("x-api-key", key);
        request.set("anthropic-version", "2023-06-01");
        break;
      case Provider::kGemini:
        target = "/v1beta/models/" + std::string(model) +
                 (stream ? ":streamGenerateContent?alt=sse&key=" + percent_encode(key)
                         : ":generateContent");
        body = {{"contents", json::array{{{"role", "user"},
                                          {"parts", json::array{{{"text", "say hi please"}}}}}}}};
        if (tools) {
          body["tools"] =
              json::array{{{"functionDeclarations", json::array{{{"name", "get_weather"}}}}}};
        }
        request = make_request(http::verb::post, target, "", "");
        if (!stream && !key.empty()) request.set("x-goog-api-key", key);
        break;
      case Provider::kOllama:
      case Provider::kBaiduV2:
      case Provider::kSpark:
        target = p == Provider::kOllama    ? "/api/chat"
                 : p == Provider::kBaiduV2 ? "/v2/chat/completions"
                                           : "/spark/v1/chat/completions";
        body = {{"model", model}, {"messages", user_messages}, {"stream", stream}};
        if (tools) body["tools"] = openai_tools;
        request = make_request(http::verb::post, target, key, "");
        break;
      case Provider::kBaiduLegacy:
        target = "/rpc/2.0/ai_custom/v1/wenxinworkshop/chat/" + std::string(model) +
                 "?access_token=" + baidu_token(key);
        body = {{"messages", user_messages}, {"system", "be brief"}};
        if (stream) body["stream"] = true;
        if (tools) body["functions"] = json::array{{{"name", "get_weather"}}};
        request = make_request(http::verb::post, target, "", "");
        break;
    }
    request.set(http::field::content_type, "application/json");
    request.body() = json::serialize(body);
    request.prepare_payload();
    return request;
  }

  Reply provider_chat(Provider p, std::string_view key, bool stream, bool tools = false,
                      std::string_view model = "m-test") {
    return run(fetch(mock_.port(), provider_request(p, key, stream, tools, model)));
  }

  // Exchanges `key` (and any secret) for a Baidu access token.
  std::string baidu_token(std::string_view key) {
    const auto reply = run(fetch(
        mock_.port(), make_request(http::verb::post,
                                   "/oauth/2.0/token?grant_type=client_credentials&client_id=" +
                                       percent_encode(key) + "&client_secret=secret",
                                   "", "")));
    EXPECT_EQ(reply.status, 200) << reply.body;
    const auto doc = json::parse(reply.body);
    const auto* token = doc.as_object().if_contains("access_token");
    return token ? std::string(token->as_string()) : std::string("none");
  }
};

TEST_F(MockLlmProviders, AnthropicAnswersAMessageAndStreamsNamedEvents) {
  const auto whole = provider_chat(Provider::kAnthropic, "ant", false, false, "claude-x");
  ASSERT_EQ(whole.status, 200) << whole.body;
  const auto doc = json::parse(whole.body);
  EXPECT_EQ(doc.at("type"), "message");
  EXPECT_EQ(doc.at("content").at(0).at("text"), "Hello from claude-x via ant");
  EXPECT_EQ(doc.at("usage").at("input_tokens"), 3);
  EXPECT_EQ(doc.at("usage").at("output_tokens"), 5);

  const auto stream = provider_chat(Provider::kAnthropic, "ant;gap=1", true, false, "claude-x");
  ASSERT_EQ(stream.status, 200);
  EXPECT_TRUE(stream.complete);
  const auto events = named_events(stream.body);
  ASSERT_GE(events.size(), 4u);
  EXPECT_EQ(events.front().first, "message_start");
  EXPECT_EQ(events.back().first, "message_stop");
  std::string text;
  for (const auto& [name, payload] : events) {
    EXPECT_EQ(payload.at("type").as_string(), name);
    if (name == "content_block_delta") text += payload.at("delta").at("text").as_string();
  }
  EXPECT_EQ(text, "Hello from claude-x via ant");
  EXPECT_EQ(key_stats("ant").at("completed"), 2);
}

TEST_F(MockLlmProviders, AnthropicErrorsAre529OverloadedAnd429WithRetryAfterAndAnErrorEvent) {
  const auto overloaded = provider_chat(Provider::kAnthropic, "ant;status=529", false);
  EXPECT_EQ(overloaded.status, 529);
  EXPECT_EQ(json::parse(overloaded.body).at("error").at("type"), "overloaded_error");

  const auto limited = provider_chat(Provider::kAnthropic, "ant;status=429;retry_after=4", true);
  EXPECT_EQ(limited.status, 429);
  EXPECT_EQ(limited.headers["retry-after"], "4");
  EXPECT_EQ(json::parse(limited.body).at("error").at("type"), "rate_limit_error");

  const auto anonymous = provider_chat(Provider::kAnthropic, "", false);
  EXPECT_EQ(anonymous.status, 401);
  EXPECT_EQ(json::parse(anonymous.body).at("error").at("type"), "authentication_error");

  const auto broken = provider_chat(Provider::kAnthropic, "ant;error_in_stream;gap=1", true);
  EXPECT_EQ(broken.status, 200);
  EXPECT_TRUE(broken.complete);
  const auto events = named_events(broken.body);
  ASSERT_FALSE(events.empty());
  EXPECT_EQ(events.back().first, "error");
  EXPECT_EQ(events.back().second.at("error").at("type"), "overloaded_error");
}

TEST_F(MockLlmProviders, AnthropicToolUseStreamsInputJsonDeltas) {
  const auto whole = provider_chat(Provider::kAnthropic, "ant;tool_call", false, true);
  ASSERT_EQ(whole.status, 200);
  const auto doc = json::parse(whole.body);
  EXPECT_EQ(doc.at("stop_reason"), "tool_use");
  EXPECT_EQ(doc.at("content").at(0).at("name"), "get_weather");
  EXPECT_EQ(doc.at("content").at(0).at("input").at("city"), "Paris");

  const auto stream = provider_chat(Provider::kAnthropic, "ant;tool_call;gap=1", true, true);
  std::string input;
  int fragments = 0;
  std::string stop_reason;
  for (const auto& [name, payload] : named_events(stream.body)) {
    if (name == "content_block_delta") {
      EXPECT_EQ(payload.at("delta").at("type"), "input_json_delta");
      input += payload.at("delta").at("partial_json").as_string();
      ++fragments;
    }
    if (name == "message_delta") stop_reason = payload.at("delta").at("stop_reason").as_string();
  }
  EXPECT_GE(fragments, 2);
  EXPECT_EQ(json::parse(input).at("city"), "Paris");
  EXPECT_EQ(stop_reason, "tool_use");

  // Without tools in the request the option changes nothing.
  const auto plain = provider_chat(Provider::kAnthropic, "ant;tool_call", false, false);
  EXPECT_EQ(json::parse(plain.body).at("content").at(0).at("type"), "text");
}

TEST_F(MockLlmProviders, GeminiAnswersAndStreamsCrlfEventsThatEndByClosing) {
  const auto whole = provider_chat(Provider::kGemini, "gem", false, false, "gemini-2.5-flash");
  ASSERT_EQ(whole.status, 200) << whole.body;
  const auto doc = json::parse(whole.body);
  EXPECT_EQ(doc.at("candidates").at(0).at("content").at("parts").at(0).at("text"),
            "Hello from gemini-2.5-flash via gem");
  EXPECT_EQ(doc.at("candidates").at(0).at("finishReason"), "STOP");
  EXPECT_EQ(doc.at("usageMetadata").at("totalTokenCount"), 8);

  // The key in the query, percent-encoded, options included.
  const auto stream =
      provider_chat(Provider::kGemini, "gem;gap=1;tokens=3", true, false, "gemini-2.5-flash");
  ASSERT_EQ(stream.status, 200) << stream.body;
  EXPECT_TRUE(stream.complete);
  EXPECT_TRUE(stream.body.ends_with("\r\n\r\n"));
  const auto events = split_events(stream.body, "\r\n\r\n");
  ASSERT_EQ(events.size(), 3u);
  std::string text;
  for (const auto& event : events) {
    ASSERT_TRUE(event.starts_with("data: "));
    text += json::parse(event.substr(6))
                .at("candidates")
                .at(0)
                .at("content")
                .at("parts")
                .at(0)
                .at("text")
                .as_string();
  }
  EXPECT_EQ(text, "Hello from gemini-2.5-flash");
  EXPECT_EQ(json::parse(events[2].substr(6)).at("candidates").at(0).at("finishReason"), "STOP");
  EXPECT_EQ(key_stats("gem").at("requests"), 2);
}

TEST_F(MockLlmProviders, GeminiRateLimitCarriesRetryDelayInTheBody) {
  const auto limited = provider_chat(Provider::kGemini, "gem;status=429;retry_after=46", false);
  EXPECT_EQ(limited.status, 429);
  EXPECT_EQ(limited.headers.count(http::field::retry_after), 0u);
  const auto error = json::parse(limited.body).at("error");
  EXPECT_EQ(error.at("status"), "RESOURCE_EXHAUSTED");
  bool retry_delay = false;
  for (const auto& detail : error.at("details").as_array()) {
    if (detail.at("@type") == "type.googleapis.com/google.rpc.RetryInfo") {
      retry_delay = detail.at("retryDelay") == "46s";
    }
  }
  EXPECT_TRUE(retry_delay);
  const auto anonymous = provider_chat(Provider::kGemini, "", false);
  EXPECT_EQ(anonymous.status, 401);
}

TEST_F(MockLlmProviders, GeminiFunctionCallArrivesWhole) {
  const auto stream = provider_chat(Provider::kGemini, "gem;tool_call;gap=1", true, true);
  const auto events = split_events(stream.body, "\r\n\r\n");
  ASSERT_EQ(events.size(), 1u);
  const auto candidate = json::parse(events[0].substr(6)).at("candidates").at(0);
  EXPECT_EQ(candidate.at("finishReason"), "STOP");
  const auto call = candidate.at("content").at("parts").at(0).at("functionCall");
  EXPECT_EQ(call.at("name"), "get_weather");
  EXPECT_EQ(call.at("args").at("city"), "Paris");
}

TEST_F(MockLlmProviders, OllamaNeedsNoKeyAndStreamsNdjsonUntilDone) {
  const auto whole = provider_chat(Provider::kOllama, "", false, false, "llama3.2");
  ASSERT_EQ(whole.status, 200) << whole.body;
  const auto doc = json::parse(whole.body);
  EXPECT_EQ(doc.at("message").at("content"), "Hello from llama3.2 via ollama");
  EXPECT_EQ(doc.at("done"), true);
  EXPECT_EQ(doc.at("eval_count"), 5);
  EXPECT_EQ(key_stats("ollama").at("requests"), 1);

  const auto stream = provider_chat(Provider::kOllama, "oll;gap=1", true, false, "llama3.2");
  ASSERT_EQ(stream.status, 200);
  EXPECT_EQ(stream.headers[http::field::content_type], "application/x-ndjson");
  const auto lines = split_events(stream.body, "\n");
  ASSERT_EQ(lines.size(), 6u);
  std::string text;
  for (std::size_t i = 0; i < 5; ++i) {
    const auto line = json::parse(lines[i]);
    EXPECT_EQ(line.at("done"), false);
    text += line.at("message").at("content").as_string();
  }
  EXPECT_EQ(text, "Hello from llama3.2 via oll");
  const auto last = json::parse(lines[5]);
  EXPECT_EQ(last.at("done"), true);
  EXPECT_EQ(last.at("prompt_eval_count"), 3);
  EXPECT_EQ(last.at("eval_count"), 5);
}

TEST_F(MockLlmProviders, OllamaErrorsAreAnErrorStringAlsoMidStream) {
  const auto missing = provider_chat(Provider::kOllama, "oll;status=404", false);
  EXPECT_EQ(missing.status, 404);
  EXPECT_TRUE(json::parse(missing.body).at("error").is_string());
  const auto broken = provider_chat(Provider::kOllama, "oll;error_in_stream;gap=1", true);
  const auto lines = split_events(broken.body, "\n");
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_TRUE(json::parse(lines[1]).at("error").is_string());
}

TEST_F(MockLlmProviders, OllamaToolCallHasArgumentsObject) {
  const auto whole = provider_chat(Provider::kOllama, "oll;tool_call", false, true);
  const auto call = json::parse(whole.body).at("message").at("tool_calls").at(0).at("function");
  EXPECT_EQ(call.at("name"), "get_weather");
  EXPECT_EQ(call.at("arguments").at("city"), "Paris");
}

TEST_F(MockLlmProviders, BaiduV2IsOpenAiShapedWithItsErrorCodesAlsoWithHttp200) {
  const auto whole = provider_chat(Provider::kBaiduV2, "bv2", false, false, "ernie-speed-128k");
  ASSERT_EQ(whole.status, 200) << whole.body;
  const auto doc = json::parse(whole.body);
  EXPECT_TRUE(doc.at("id").as_string().starts_with("as-"));
  EXPECT_EQ(doc.at("choices").at(0).at("message").at("content"),
            "Hello from ernie-speed-128k via bv2");
  const auto stream = provider_chat(Provider::kBaiduV2, "bv2;gap=1", true);
  EXPECT_EQ(sse_payloads(stream.body).back(), "[DONE]");

  const auto limited =
      provider_chat(Provider::kBaiduV2, "bv2;status=429;code=tpm_rate_limit_exceeded", false);
  EXPECT_EQ(limited.status, 429);
  EXPECT_EQ(json::parse(limited.body).at("error").at("code"), "tpm_rate_limit_exceeded");
  const auto in_200 = provider_chat(Provider::kBaiduV2, "bv2;status=429;error_200", false);
  EXPECT_EQ(in_200.status, 200);
  EXPECT_EQ(json::parse(in_200.body).at("error").at("code"), "rpm_rate_limit_exceeded");
}

TEST_F(MockLlmProviders, BaiduV2ToolCallStreamsArgumentFragments) {
  const auto stream = provider_chat(Provider::kBaiduV2, "bv2;tool_call;gap=1", true, true);
  std::string arguments;
  std::string finish;
  for (const auto& payload : sse_payloads(stream.body)) {
    if (payload == "[DONE]") continue;
    const auto choice = json::parse(payload).at("choices").at(0);
    if (const auto* calls = choice.at("delta").as_object().if_contains("tool_calls")) {
      arguments += calls->at(0).at("function").at("arguments").as_string();
    }
    if (choice.at("finish_reason").is_string()) finish = choice.at("finish_reason").as_string();
  }
  EXPECT_EQ(json::parse(arguments).at("city"), "Paris");
  EXPECT_EQ(finish, "tool_calls");
}

TEST_F(MockLlmProviders, BaiduLegacyExchangesTokensAndStreamsUntilIsEnd) {
  const auto whole = provider_chat(Provider::kBaiduLegacy, "bl", false, false, "ernie-lite-8k");
  ASSERT_EQ(whole.status, 200) << whole.body;
  EXPECT_EQ(json::parse(whole.body).at("result"), "Hello from ernie-lite-8k via bl");

  const auto stream = provider_chat(Provider::kBaiduLegacy, "bl;gap=1", true);
  ASSERT_EQ(stream.status, 200);
  EXPECT_TRUE(stream.complete);
  const auto events = sse_payloads(stream.body);
  ASSERT_EQ(events.size(), 6u);
  const auto last = json::parse(events.back());
  EXPECT_EQ(last.at("is_end"), true);
  EXPECT_EQ(last.at("usage").at("completion_tokens"), 5);
  EXPECT_EQ(stream.body.find("[DONE]"), std::string::npos);

  const auto stats = key_stats("bl");
  EXPECT_EQ(stats.at("requests"), 2);
  EXPECT_EQ(stats.at("tokens_issued"), 2);
}

TEST_F(MockLlmProviders, BaiduLegacyErrorsComeWithHttp200AndTokensExpire) {
  const auto limited = provider_chat(Provider::kBaiduLegacy, "bl;status=429;code=18", false);
  EXPECT_EQ(limited.status, 200);
  EXPECT_EQ(json::parse(limited.body).at("error_code"), 18);

  // An expired token is 111 and is not counted (no key to count it under).
  const auto expired = provider_chat(Provider::kBaiduLegacy, "old;token_ttl=0", false);
  EXPECT_EQ(expired.status, 200);
  EXPECT_EQ(json::parse(expired.body).at("error_code"), 111);
  const auto bogus = run(
      fetch(mock_.port(),
            make_request(http::verb::post,
                         "/rpc/2.0/ai_custom/v1/wenxinworkshop/chat/m?access_token=24.abc.1.2.x",
                         "", R"({"messages":[{"role":"user","content":"hi"}]})")));
  EXPECT_EQ(json::parse(bogus.body).at("error_code"), 110);
  EXPECT_EQ(key_stats("old").at("requests"), 0);

  // A credential wrong for good fails at the exchange.
  const auto refused = run(fetch(
      mock_.port(),
      make_request(http::verb::post,
                   "/oauth/2.0/token?grant_type=client_credentials&client_id=bad%3Bstatus%3D401"
                   "&client_secret=s",
                   "", "")));
  EXPECT_EQ(refused.status, 401);
  EXPECT_EQ(json::parse(refused.body).at("error"), "invalid_client");
}

TEST_F(MockLlmProviders, BaiduLegacyFunctionCall) {
  const auto whole = provider_chat(Provider::kBaiduLegacy, "bl;tool_call", false, true);
  const auto doc = json::parse(whole.body);
  EXPECT_EQ(doc.at("finish_reason"), "function_call");
  EXPECT_EQ(doc.at("function_call").at("name"), "get_weather");
  EXPECT_EQ(json::parse(doc.at("function_call").at("arguments").as_string()).at("city"), "Paris");
}

TEST_F(MockLlmProviders, SparkCarriesCodeAndSidAndReportsErrorsAsCodes) {
  const auto whole = provider_chat(Provider::kSpark, "spk", false, false, "lite");
  ASSERT_EQ(whole.status, 200) << whole.body;
  const auto doc = json::parse(whole.body);
  EXPECT_EQ(doc.at("code"), 0);
  EXPECT_EQ(doc.at("choices").at(0).at("message").at("content"), "Hello from lite via spk");

  const auto stream = provider_chat(Provider::kSpark, "spk;gap=1", true, false, "lite");
  const auto events = sse_payloads(stream.body);
  ASSERT_EQ(events.size(), 6u);
  EXPECT_EQ(json::parse(events[4]).at("usage").at("completion_tokens"), 5);
  EXPECT_EQ(events[5], "[DONE]");

  const auto limited = provider_chat(Provider::kSpark, "spk;status=429", false);
  EXPECT_EQ(limited.status, 429);
  EXPECT_EQ(json::parse(limited.body).at("code"), 11202);
  const auto filtered =
      provider_chat(Provider::kSpark, "spk;error_in_stream;code=10014;gap=1", true);
  const auto broken = sse_payloads(filtered.body);
  ASSERT_EQ(broken.size(), 2u);
  EXPECT_EQ(json::parse(broken[1]).at("code"), 10014);
}

TEST_F(MockLlmProviders, SparkToolCall) {
  const auto whole = provider_chat(Provider::kSpark, "spk;tool_call", false, true);
  const auto call =
      json::parse(whole.body).at("choices").at(0).at("message").at("tool_calls").at(0);
  EXPECT_EQ(call.at("function").at("name"), "get_weather");
  EXPECT_EQ(json::parse(call.at("function").at("arguments").as_string()).at("city"), "Paris");
}

TEST_F(MockLlmProviders, ZhipuToolCallArrivesWholeWithFinishReason) {
  auto body = json::parse(chat_body(true, "glm-4-flash")).as_object();
  body["tools"] = json::array{{{"type", "function"}, {"function", {{"name", "get_weather"}}}}};
  const auto stream =
      post("/api/paas/v4/chat/completions", "glm;tool_call;gap=1", json::serialize(body));
  const auto events = sse_payloads(stream.body);
  ASSERT_EQ(events.size(), 3u);  // the call, the final chunk with usage, [DONE]
  const auto choice = json::parse(events[0]).at("choices").at(0);
  EXPECT_EQ(choice.at("finish_reason"), "tool_calls");
  EXPECT_EQ(choice.at("delta").at("tool_calls").at(0).at("function").at("arguments"),
            R"({"city":"Paris"})");
}

TEST_F(MockLlmProviders, OpenAiToolCallStreamsArgumentsInFragments) {
  auto body = json::parse(chat_body(true)).as_object();
  body["tools"] = json::array{{{"type", "function"}, {"function", {{"name", "get_weather"}}}}};
  const auto stream = post("/v1/chat/completions", "oai;tool_call;gap=1", json::serialize(body));
  int fragments = 0;
  std::string arguments;
  for (const auto& payload : sse_payloads(stream.body)) {
    if (payload == "[DONE]") continue;
    const auto delta = json::parse(payload).at("choices").at(0).at("delta").as_object();
    if (const auto* calls = delta.if_contains("tool_calls")) {
      const auto piece = calls->at(0).at("function").at("arguments").as_string();
      if (!piece.empty()) ++fragments;
      arguments += piece;
    }
  }
  EXPECT_GE(fragments, 2);
  EXPECT_EQ(arguments, R"({"city":"Paris"})");
}

// Every fault option works in every new format: delay, pieces, errors by status and fail_first,
// cuts, malformed bodies and in-stream errors, counted per key name.
TEST_F(MockLlmProviders, FaultOptionsWorkInEveryFormat) {
  for (const auto p : {Provider::kAnthropic, Provider::kGemini, Provider::kOllama,
                       Provider::kBaiduV2, Provider::kBaiduLegacy, Provider::kSpark}) {
    SCOPED_TRACE(provider_name(p));
    const std::string name = "f_" + provider_name(p);
    const bool errors_in_200 = p == Provider::kBaiduLegacy;

    const auto failing = name + ";fail_first=1;status=503";
    const auto first = provider_chat(p, failing, false);
    EXPECT_EQ(first.status, errors_in_200 ? 200 : 503);
    EXPECT_TRUE(is_json(first.body));
    EXPECT_EQ(first.body.find("Hello"), std::string::npos);
    EXPECT_EQ(provider_chat(p, failing, false).status, 200);

    const auto start = Clock::now();
    const auto slow = provider_chat(p, name + ";latency=200;tokens=2", false);
    EXPECT_GE(Clock::now() - start, 200ms);
    EXPECT_EQ(slow.status, 200);
    EXPECT_NE(slow.body.find("Hello from"), std::string::npos);
    EXPECT_EQ(slow.body.find("via"), std::string::npos);  // cut to 2 pieces

    const auto cut = provider_chat(p, name + ";cut_after=1;gap=1", true);
    EXPECT_EQ(cut.status, 200);
    EXPECT_FALSE(cut.complete);
    EXPECT_EQ(cut.body.find(" from"), std::string::npos);

    const auto cut_whole = provider_chat(p, name + ";cut_after=0", false);
    EXPECT_FALSE(cut_whole.complete);

    const auto malformed = provider_chat(p, name + ";malformed", false);
    EXPECT_EQ(malformed.status, 200);
    EXPECT_FALSE(is_json(malformed.body));

    // One event more than the same stream without the option.
    const auto lines = [](const Reply& r) {
      return std::count(r.body.begin(), r.body.end(), '\n');
    };
    const auto normal_stream = provider_chat(p, name + ";gap=1", true);
    const auto malformed_stream = provider_chat(p, name + ";malformed;gap=1", true);
    EXPECT_TRUE(malformed_stream.complete);
    EXPECT_GT(lines(malformed_stream), lines(normal_stream));

    const auto in_stream = provider_chat(p, name + ";error_in_stream;gap=1", true);
    EXPECT_TRUE(in_stream.complete);
    EXPECT_NE(in_stream.body.find("Hello"), std::string::npos);
    EXPECT_EQ(in_stream.body.find(" from"), std::string::npos);
    EXPECT_NE(in_stream.body.find("rror"), std::string::npos);  // error / error_code

    const auto key = key_stats(name);
    EXPECT_EQ(key.at("requests"), 9);
    EXPECT_EQ(key.at("completed"), 9);
    EXPECT_EQ(key.at("client_closed"), 0);
  }
}

// /_mock/stats after `delay`. A free function, not a capturing lambda: the lambda object
// would die before its coroutine (ASan: stack-use-after-scope).
awaitable<json::object> stats_after(unsigned short port, std::chrono::milliseconds delay) {
  asio::steady_timer timer(co_await asio::this_coro::executor, delay);
  co_await timer.async_wait(use_awaitable);
  auto reply = co_await fetch(port, make_request(http::verb::get, "/_mock/stats", "", ""));
  co_return json::parse(reply.body).as_object();
}

TEST_F(MockLlm, StatsCountConcurrentRequestsAndTheMostInFlight) {
  constexpr int kRequests = 8;
  asio::io_context io;
  int answered_ok = 0;
  for (int i = 0; i < kRequests; ++i) {
    asio::co_spawn(io,
                   fetch(mock_.port(), make_request(http::verb::post, "/v1/chat/completions",
                                                    "busy;latency=600", chat_body(false))),
                   [&](std::exception_ptr e, Reply reply) {
                     if (!e && reply.status == 200) ++answered_ok;
                   });
  }
  std::optional<json::object> during;
  asio::co_spawn(io, stats_after(mock_.port(), 300ms), [&](std::exception_ptr e, json::object doc) {
    if (!e) during = std::move(doc);
  });
  io.run_for(10s);

  EXPECT_EQ(answered_ok, kRequests);
  ASSERT_TRUE(during);
  EXPECT_EQ(during->at("keys").at("busy").at("in_flight"), kRequests);
  const auto busy = key_stats("busy");
  EXPECT_EQ(busy.at("requests"), kRequests);
  EXPECT_EQ(busy.at("in_flight"), 0);
  EXPECT_EQ(busy.at("max_in_flight"), kRequests);
  EXPECT_EQ(busy.at("completed"), kRequests);
  EXPECT_EQ(busy.at("client_closed"), 0);
  EXPECT_EQ(busy.at("starts_ms").as_array().size(), static_cast<std::size_t>(kRequests));
}

// The descriptors this process may open: the soft limit raised to the hard one (a fresh
// Debian shell starts at 1024, too few for a thousand client sockets).
rlim_t raise_descriptor_limit() {
  rlimit limit{};
  if (getrlimit(RLIMIT_NOFILE, &limit) != 0) return 1024;
  limit.rlim_cur = limit.rlim_max;
  setrlimit(RLIMIT_NOFILE, &limit);
  getrlimit(RLIMIT_NOFILE, &limit);
  return limit.rlim_cur;
}

TEST_F(MockLlm, HoldsAThousandConcurrentStreams) {
  const rlim_t descriptors = raise_descriptor_limit();
  ASSERT_GT(descriptors, 1100u) << "this test needs RLIMIT_NOFILE above 1100";
  constexpr int kStreams = 1000;
  asio::io_context io;
  int finished = 0;
  for (int i = 0; i < kStreams; ++i) {
    asio::co_spawn(
        io,
        fetch(mock_.port(), make_request(http::verb::post, "/v1/chat/completions",
                                         "crowd;latency=1500;tokens=3;gap=20", chat_body(true))),
        [&](std::exception_ptr e, Reply reply) {
          if (!e && reply.complete && reply.body.ends_with("data: [DONE]\n\n")) {
            ++finished;
          }
        });
  }
  io.run_for(20s);
  EXPECT_EQ(finished, kStreams);
  const auto crowd = key_stats("crowd");
  EXPECT_EQ(crowd.at("completed"), kStreams);
  EXPECT_EQ(crowd.at("max_in_flight"), kStreams);
}

TEST_F(MockLlm, SlowStreamFlushesEachChunkAsItIsProduced) {
  struct Timing {
    Clock::duration first_content;
    Clock::duration total;
    int body_reads = 0;
    bool saw_done = false;
  };
  const auto timing = run([&]() -> awaitable<Timing> {
    auto socket = co_await connect(mock_.port());
    auto request = make_request(http::verb::post, "/v1/chat/completions", "slow;gap=100;tokens=10",
                                chat_body(true));
    const auto start = Clock::now();
    co_await http::async_write(socket, request, use_awaitable);
    beast::flat_buffer buffer;
    http::response_parser<http::string_body> parser;
    Timing t{};
    std::size_t seen = 0;
    while (!parser.is_done()) {
      co_await http::async_read_some(socket, buffer, parser, use_awaitable);
      const auto& body = parser.get().body();
      if (body.size() != seen) ++t.body_reads;
      seen = body.size();
      if (t.first_content == Clock::duration{} && body.find("Hello") != std::string::npos) {
        t.first_content = Clock::now() - start;
      }
    }
    t.total = Clock::now() - start;
    t.saw_done = parser.get().body().ends_with("data: [DONE]\n\n");
    co_return t;
  }());
  EXPECT_TRUE(timing.saw_done);
  EXPECT_LT(timing.first_content, 500ms);
  EXPECT_GE(timing.total, 1000ms);
  EXPECT_GE(timing.body_reads, 10);  // the pieces arrived one by one, not as one block
}

TEST_F(MockLlm, ClientClosingMidStreamIsCountedAtOnceDuringALongGap) {
  // A 5 s gap: only watching the read side can notice the close before the next write.
  run([&]() -> awaitable<bool> {
    auto socket = co_await connect(mock_.port());
    auto request =
        make_request(http::verb::post, "/v1/chat/completions", "quitter;gap=5000", chat_body(true));
    co_await http::async_write(socket, request, use_awaitable);
    beast::flat_buffer buffer;
    http::response_parser<http::string_body> parser;
    while (parser.get().body().find("Hello") == std::string::npos) {
      co_await http::async_read_some(socket, buffer, parser, use_awaitable);
    }
    socket.close();
    co_return true;
  }());
  const auto took = wait_for_key("quitter", [](const json::object& key) {
    return key.at("client_closed") == 1 && key.at("in_flight") == 0;
  });
  EXPECT_LT(took, 500ms);
  const auto key = key_stats("quitter");
  EXPECT_EQ(key.at("client_closed"), 1);
  EXPECT_EQ(key.at("in_flight"), 0);
  EXPECT_EQ(key.at("completed"), 0);
}

TEST_F(MockLlm, ClientClosingBeforeTheAnswerIsCountedAsClientClosed) {
  run([&]() -> awaitable<bool> {
    auto socket = co_await connect(mock_.port());
    auto request = make_request(http::verb::post, "/v1/chat/completions", "impatient;latency=5000",
                                chat_body(false));
    co_await http::async_write(socket, request, use_awaitable);
    asio::steady_timer timer(co_await asio::this_coro::executor, 100ms);
    co_await timer.async_wait(use_awaitable);
    socket.close();
    co_return true;
  }());
  const auto took = wait_for_key("impatient", [](const json::object& key) {
    return key.at("client_closed") == 1 && key.at("in_flight") == 0;
  });
  EXPECT_LT(took, 500ms);
  EXPECT_EQ(key_stats("impatient").at("client_closed"), 1);
}

TEST_F(MockLlm, KeepAliveServesSeveralRequestsOnOneConnection) {
  const auto statuses = run([&]() -> awaitable<std::vector<int>> {
    auto socket = co_await connect(mock_.port());
    beast::flat_buffer buffer;
    std::vector<int> out;
    for (bool stream : {false, true, false}) {
      auto request =
          make_request(http::verb::post, "/v1/chat/completions", "reuse;gap=1", chat_body(stream));
      co_await http::async_write(socket, request, use_awaitable);
      const auto reply = co_await read_reply(socket, buffer);
      out.push_back(reply.complete ? reply.status : -1);
    }
    co_return out;
  }());
  EXPECT_EQ(statuses, (std::vector<int>{200, 200, 200}));
  const auto reuse = key_stats("reuse");
  EXPECT_EQ(reuse.at("requests"), 3);
  EXPECT_EQ(reuse.at("completed"), 3);
}

TEST_F(MockLlm, StatsReportOpenConnections) {
  run([&]() -> awaitable<bool> {
    auto held = co_await connect(mock_.port());
    auto request = make_request(http::verb::get, "/_mock/stats", "", "");
    co_await http::async_write(held, request, use_awaitable);
    beast::flat_buffer buffer;
    const auto reply = co_await read_reply(held, buffer);
    // This connection is open while the mock builds the answer.
    EXPECT_GE(json::parse(reply.body).at("connections_open").as_int64(), 1);
    co_return true;
  }());
  // Every client connection is gone now.
  const auto start = Clock::now();
  std::int64_t open = -1;
  while (Clock::now() - start < 2s) {
    open = stats().at("connections_open").as_int64();
    if (open == 1) break;  // only the stats request's own connection
    std::this_thread::sleep_for(5ms);
  }
  EXPECT_EQ(open, 1);
}

TEST_F(MockLlm, ResetClearsTheCounters) {
  ASSERT_EQ(chat("gone", false).status, 200);
  ASSERT_EQ(key_stats("gone").at("requests"), 1);
  const auto reset =
      run(fetch(mock_.port(), make_request(http::verb::post, "/_mock/reset", "", "")));
  EXPECT_EQ(reset.status, 200);
  EXPECT_TRUE(key_stats("gone").empty());
  // fail_first counts again from the reset.
  EXPECT_EQ(chat("again;fail_first=1", false).status, 500);
  run(fetch(mock_.port(), make_request(http::verb::post, "/_mock/reset", "", "")));
  EXPECT_EQ(chat("again;fail_first=1", false).status, 500);
}

TEST_F(MockLlm, UnknownPathIs404AndWrongMethodIs405) {
  const auto missing = post("/v1/nothing-here", "k", chat_body(false));
  EXPECT_EQ(missing.status, 404);
  EXPECT_TRUE(json::parse(missing.body).as_object().contains("error"));
  const auto wrong =
      run(fetch(mock_.port(), make_request(http::verb::get, "/v1/chat/completions", "k", "")));
  EXPECT_EQ(wrong.status, 405);
}

TEST_F(MockLlm, ExitsCleanlyOnSigtermWithAClientConnected) {
  const auto status = run([&]() -> awaitable<int> {
    auto idle = co_await connect(mock_.port());  // a keep-alive client holding a connection
    auto request = make_request(http::verb::post, "/v1/chat/completions", "k", chat_body(false));
    co_await http::async_write(idle, request, use_awaitable);
    beast::flat_buffer buffer;
    co_await read_reply(idle, buffer);
    co_return mock_.stop();
  }());
  EXPECT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 0);
}

}  // namespace
}  // namespace bc::mockllm
