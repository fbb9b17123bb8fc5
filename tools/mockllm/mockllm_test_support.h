// What the mockllm tests share: the real binary run as a child process on a loopback port, a
// small HTTP client over Asio, readers of SSE and NDJSON bodies, and the test fixtures.
#pragma once

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

namespace bc::mockllm::testing_mockllm {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace json = boost::json;
using asio::awaitable;
using asio::use_awaitable;
using tcp = asio::ip::tcp;
using Clock = std::chrono::steady_clock;
using namespace std::chrono_literals;

inline constexpr auto kTuple = asio::as_tuple(use_awaitable);

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

inline http::request<http::string_body> make_request(http::verb verb, std::string_view target,
                                                     std::string_view key, std::string body) {
  http::request<http::string_body> request{verb, target, 11};
  request.set(http::field::host, "127.0.0.1");
  if (!key.empty()) request.set(http::field::authorization, "Bearer " + std::string(key));
  if (!body.empty()) request.set(http::field::content_type, "application/json");
  request.body() = std::move(body);
  request.prepare_payload();
  return request;
}

inline std::string chat_body(bool stream, std::string_view model = "gpt-test", bool usage = false) {
  json::object body{{"model", model},
                    {"messages", json::array{{{"role", "user"}, {"content", "say hi please"}}}}};
  if (stream) body["stream"] = true;
  if (usage) body["stream_options"] = {{"include_usage", true}};
  return json::serialize(body);
}

inline awaitable<tcp::socket> connect(unsigned short port) {
  tcp::socket socket(co_await asio::this_coro::executor);
  co_await socket.async_connect({asio::ip::make_address("127.0.0.1"), port}, use_awaitable);
  co_return socket;
}

inline awaitable<Reply> read_reply(tcp::socket& socket, beast::flat_buffer& buffer) {
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

inline awaitable<Reply> fetch(unsigned short port, http::request<http::string_body> request) {
  auto socket = co_await connect(port);
  co_await http::async_write(socket, request, use_awaitable);
  beast::flat_buffer buffer;
  co_return co_await read_reply(socket, buffer);
}

// The data payloads of an SSE body.
inline std::vector<std::string> sse_payloads(std::string_view body) {
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

inline bool is_json(std::string_view text) {
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

// ---- The other providers' formats, through the real binary ----

enum class Provider { kAnthropic, kGemini, kOllama, kBaiduV2, kBaiduLegacy, kSpark };

inline std::string provider_name(Provider p) {
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

inline std::string percent_encode(std::string_view text) {
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
inline std::vector<std::string> split_events(std::string_view body, std::string_view separator) {
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
inline std::vector<std::pair<std::string, json::value>> named_events(std::string_view body) {
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

}  // namespace bc::mockllm::testing_mockllm
