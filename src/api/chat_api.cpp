#include "api/chat_api.h"

#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/json.hpp>
#include <chrono>

#include "api/client_budgets.h"
#include "api/reply.h"
#include "api/sinks.h"
#include "core/json_text.h"
#include "core/stream_options.h"

namespace bc::api {

namespace http = boost::beast::http;
namespace json = boost::json;

namespace {

enum class Dialect { kOpenAI, kNative };

// Why `client` may not make this call, if it may not: a model outside its list, or (no model
// named, so the call balances over every model) a list that leaves out some active model.
std::optional<Error> model_refused(const gateway::Gateway& gateway, const ClientKey* client,
                                   const ChatRequest& chat) {
  if (client == nullptr || client->models.empty()) return std::nullopt;
  Error e;
  e.kind = ErrorKind::kPermission;
  e.code = "model_not_allowed";
  if (!chat.model.empty()) {
    if (client->allows(chat.model)) return std::nullopt;
    e.message = "client '" + client->name + "' may not use model '" + chat.model + "'";
    return e;
  }
  for (std::size_t i = 0; i < gateway.model_count(); ++i) {
    if (!client->allows(gateway.model(i).config->name)) {
      e.message = "client '" + client->name +
                  "' may use only some models; this call would balance over every model: name "
                  "an allowed model in 'model'";
      return e;
    }
  }
  return std::nullopt;
}

// The seed's answer, {"result": <text>}, and the tool calls of an answer that made some:
// {"result": "", "tool_calls": [<OpenAI tool call>...]}.
std::string native_answer(const ChatResponse& response) {
  json::object out;
  out["result"] = response.text();
  const json::object completion = response.completion_object();
  const auto* choices = completion.if_contains("choices");
  if (choices != nullptr && choices->is_array() && !choices->as_array().empty() &&
      choices->as_array().front().is_object()) {
    const auto* message = choices->as_array().front().as_object().if_contains("message");
    if (message != nullptr && message->is_object()) {
      const auto* calls = message->as_object().if_contains("tool_calls");
      if (calls != nullptr && calls->is_array() && !calls->as_array().empty()) {
        out["tool_calls"] = *calls;
      }
    }
  }
  return json_text(out);
}

// The seed's routes take `model`, `temperature` and `max_tokens` like /v1 (the rest of the body
// is passed on as there); a wrong value is the caller's error, naming the member.
std::optional<Error> native_fields_refused(const ChatRequest& chat) {
  // A scanned request has only these members parsed, not its whole tree.
  const auto member = [&chat](std::string_view key) -> std::optional<json::value> {
    if (const ChatRequest::Raw* raw = chat.raw()) {
      for (const auto& m : raw->scan.members) {
        if (raw->key(m) != key) continue;
        json::error_code ec;  // the scan checked the text; never thrown
        json::value v = json::parse(raw->value(m), ec);
        if (ec) return std::nullopt;
        return v;
      }
      return std::nullopt;
    }
    if (const auto* v = chat.body().if_contains(key)) return *v;
    return std::nullopt;
  };
  const auto bad = [](std::string param, std::string message) {
    return Error::invalid_param(std::move(param), std::move(message), "invalid_parameter");
  };
  if (const auto t = member("temperature"); t && !t->is_null()) {
    if (!t->is_number() || t->to_number<double>() < 0 || t->to_number<double>() > 2) {
      return bad("temperature", "'temperature' must be a number from 0 to 2");
    }
  }
  if (const auto m = member("max_tokens"); m && !m->is_null()) {
    const bool positive = (m->is_int64() && m->as_int64() > 0) || m->is_uint64();
    if (!positive) return bad("max_tokens", "'max_tokens' must be a positive integer");
  }
  return std::nullopt;
}

// The two ways to answer, each its own coroutine: an open stream keeps only its own frame,
// not the locals of a whole answer. One instance per sink, so the frame holds one sink.
template <class Sink, class... SinkArgs>
awaitable<void> stream_chat(gateway::Forwarder& forwarder, ChatRequest chat, Exchange& writer,
                            SinkArgs... sink_args) {
  Sink sink(writer, sink_args...);
  writer.report.caller = caller_of(writer.client);
  Status status = co_await forwarder.stream(chat, sink, writer, writer.report);
  if (!status) co_await send_error(writer, std::move(status).error());
}

awaitable<void> complete_chat(gateway::Forwarder& forwarder, ChatRequest chat, Exchange& writer,
                              Dialect dialect) {
  writer.report.caller = caller_of(writer.client);
  auto response = co_await forwarder.complete(chat, writer, writer.report);
  if (!response) {
    co_await send_error(writer, response.error());
    co_return;
  }
  if (dialect == Dialect::kOpenAI) {
    std::string body = response->raw_json.empty() ? json_text(response->completion)
                                                  : std::move(response->raw_json);
    co_await send_json(writer, 200, std::move(body));
  } else {
    co_await send_json(writer, 200, native_answer(*response));
  }
}

// Not a coroutine: it reads the request now and returns the answer's own coroutine, which
// takes the parsed request with it, so an open stream keeps no frame of this step's.
awaitable<void> chat(gateway::Forwarder& forwarder, net::HttpRequest& request, Exchange& writer,
                     Dialect dialect, bool native_stream) {
  // The body moves into the parsed request: nothing after this handler reads it.
  auto parsed = ChatRequest::parse_owned(std::move(request.body()));
  if (!parsed) return send_error(writer, std::move(parsed).error());
  auto& chat = *parsed;
  if (dialect == Dialect::kNative) {
    // The seed's endpoints balance over every enabled model unless the body names one, and
    // choose streaming by path. Adapters take streaming from `stream`, never from the body's
    // member, so the body (and its scanned text) stays as the caller sent it.
    if (auto refused = native_fields_refused(chat)) return send_error(writer, std::move(*refused));
    chat.stream = native_stream;
  }
  if (auto refused = model_refused(forwarder.gateway(), writer.client, chat)) {
    return send_error(writer, std::move(*refused));
  }
  if (auto over = take_budget(writer, chat)) return send_error(writer, std::move(*over));
  if (chat.stream) {
    // A stream may stay open for minutes and nothing reads the request's header fields after
    // this (authentication and the request id took theirs; the access log takes the method
    // and target, which clear() keeps): about 1 KB less per open stream.
    request.base().clear();
    if (dialect == Dialect::kOpenAI) {
      const bool include_usage = wants_usage_chunks(chat);
      return after_shared_budget(
          forwarder, writer,
          stream_chat<OpenAISseSink>(forwarder, std::move(chat), writer, include_usage), false);
    }
    return after_shared_budget(
        forwarder, writer, stream_chat<PlainTextSink>(forwarder, std::move(chat), writer), false);
  }
  return after_shared_budget(forwarder, writer,
                             complete_chat(forwarder, std::move(chat), writer, dialect), false);
}

awaitable<void> list_models(const gateway::Gateway& gateway, Exchange& writer) {
  json::array data;
  for (std::size_t i = 0; i < gateway.model_count(); ++i) {
    const auto& m = *gateway.model(i).config;
    if (writer.client != nullptr && !writer.client->allows(m.name)) continue;
    json::object entry;
    entry["id"] = m.name;
    entry["object"] = "model";
    entry["created"] = 0;
    entry["owned_by"] = m.provider;
    // What the model serves, beyond OpenAI's Model object (which allows more members):
    // ["embeddings"] for POST /v1/embeddings, else ["chat"] and "tools" when it takes them.
    json::array capabilities;
    if (m.embeddings) {
      capabilities.emplace_back("embeddings");
    } else {
      capabilities.emplace_back("chat");
      if (m.supports_tools) capabilities.emplace_back("tools");
    }
    entry["capabilities"] = std::move(capabilities);
    data.push_back(std::move(entry));
  }
  json::object out;
  out["object"] = "list";
  out["data"] = std::move(data);
  co_await send_json(writer, 200, json_text(out));
}

}  // namespace

gateway::Caller caller_of(const ClientKey* client) {
  gateway::Caller caller;
  if (client == nullptr) return caller;
  caller.id = client;
  caller.name = client->name;
  caller.weight = client->weight;
  caller.max_queued = client->max_queued;
  return caller;
}

namespace {

std::int64_t wall_now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// Takes writer.budget_wanted tokens and a request from the client's budget now; sets
// writer.budget_pending when the ledger's allowance has no room yet.
std::optional<Error> take_budget_now(Exchange& writer) {
  // The budget takes the call's estimate now, so concurrent calls cannot overshoot it; the
  // pipeline settles it with the real use when the request ends.
  const std::int64_t wall_ms = wall_now_ms();
  auto verdict = writer.budgets->take(*writer.client, wall_ms, writer.budget_wanted);
  writer.budget_pending = false;
  if (verdict.refused) return std::move(verdict.refused);
  writer.budget_pending = verdict.pending;
  if (verdict.pending) return std::nullopt;
  writer.budget_reserved = writer.budget_wanted;
  writer.budget_taken_at_ms = wall_ms;
  return std::nullopt;
}

// The budget steps that wait, then `answer`: the usage ledger's allowance (pending), then the
// budgets in Redis (state: redis, something taken locally).
awaitable<void> budget_then(gateway::SharedAdmission* shared, Exchange& writer,
                            awaitable<void> answer, bool anthropic) {
  std::optional<Error> over;
  if (writer.budget_pending) over = co_await wait_for_budget(writer);
  if (!over && shared != nullptr) over = co_await take_shared_budget(*shared, writer);
  if (!over) {
    co_await std::move(answer);
    co_return;
  }
  if (anthropic) {
    co_await send_anthropic_error(writer, std::move(*over));
  } else {
    co_await send_error(writer, std::move(*over));
  }
}

}  // namespace

awaitable<void> after_shared_budget(gateway::Forwarder& forwarder, Exchange& writer,
                                    awaitable<void> answer, bool anthropic) {
  // Local state and nothing waiting, or no budget: the answer as it is, no frame more.
  const bool pending = writer.budget_pending;
  if (!pending && (forwarder.shared_admission() == nullptr || writer.budget_taken_at_ms == 0)) {
    return answer;
  }
  return budget_then(forwarder.shared_admission(), writer, std::move(answer), anthropic);
}

std::optional<Error> take_budget(Exchange& writer, const ChatRequest& chat) {
  if (writer.budgets == nullptr || writer.client == nullptr) return std::nullopt;
  return take_budget(writer, budget_estimate(chat));
}

std::optional<Error> take_budget(Exchange& writer, std::int64_t tokens) {
  if (writer.budgets == nullptr || writer.client == nullptr) return std::nullopt;
  writer.budget_wanted = tokens;
  return take_budget_now(writer);
}

awaitable<std::optional<Error>> wait_for_budget(Exchange& writer) {
  // The writer raises an allowance within milliseconds of being asked; a store that fails
  // to write one leaves the call refused, never over budget.
  constexpr auto kWaitAtMost = std::chrono::seconds(3);
  const auto until = std::chrono::steady_clock::now() + kWaitAtMost;
  boost::asio::steady_timer timer(co_await boost::asio::this_coro::executor);
  auto pause = std::chrono::milliseconds(1);
  while (writer.budget_pending) {
    if (std::chrono::steady_clock::now() >= until) {
      writer.budget_pending = false;
      co_return Error::unavailable(
          "the usage ledger has not confirmed the budget allowance of "
          "client '" +
              writer.client->name + "' in time (see its log); try again",
          "budget_unavailable");
    }
    timer.expires_after(pause);
    co_await timer.async_wait(boost::asio::use_awaitable);
    pause = std::min(pause * 2, std::chrono::milliseconds(50));
    if (auto over = take_budget_now(writer)) {
      writer.budget_pending = false;
      co_return over;
    }
  }
  co_return std::nullopt;
}

void add_chat_routes(Router& router, gateway::Forwarder& forwarder) {
  auto* f = &forwarder;
  router.add(http::verb::post, "/v1/chat/completions", [f](net::HttpRequest& r, Exchange& w) {
    return chat(*f, r, w, Dialect::kOpenAI, false);
  });
  router.add(http::verb::get, "/v1/models",
             [f](const net::HttpRequest&, Exchange& w) { return list_models(f->gateway(), w); });
  router.add(http::verb::post, "/llm/chat", [f](net::HttpRequest& r, Exchange& w) {
    return chat(*f, r, w, Dialect::kNative, false);
  });
  router.add(http::verb::post, "/llm/chat/stream", [f](net::HttpRequest& r, Exchange& w) {
    return chat(*f, r, w, Dialect::kNative, true);
  });
}

}  // namespace bc::api
