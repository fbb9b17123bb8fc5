#include "api/messages_api.h"

#include <boost/json.hpp>

#include "api/chat_api.h"
#include "api/reply.h"
#include "api/sinks.h"
#include "providers/anthropic_messages.h"

namespace bc::api {

namespace http = boost::beast::http;

namespace {

// A streamed answer as Anthropic's events; the pacer's heartbeats become `event: ping`.
class AnthropicSseSink final : public gateway::StreamSink {
 public:
  AnthropicSseSink(net::ResponseWriter& writer, std::string id, std::string model)
      : writer_(writer), events_(std::move(id), std::move(model)) {}
  Status begin() override {
    Headers headers;
    headers.push_back({"Cache-Control", "no-cache"});
    headers.push_back({"X-Accel-Buffering", "no"});  // no buffering in nginx-style proxies
    Status begun = writer_.begin_stream(200, "text/event-stream; charset=utf-8", headers);
    if (begun) events_.start(queued_);
    return begun;
  }
  void add(const ChatDelta& delta) override { events_.add(delta, queued_); }
  awaitable<Status> flush() override { return send_queued(writer_, queued_); }
  awaitable<Status> commit() override { return commit_queued(writer_, queued_); }
  bool takes_heartbeats() const override { return true; }
  void add_heartbeat() override { events_.ping(queued_); }
  awaitable<Status> end() override {
    events_.finish(queued_);
    co_return co_await end_with(writer_, queued_);
  }
  // Anthropic's SDKs raise an `event: error` as an APIError of its type.
  awaitable<void> fail(const Error& error) override {
    queued_ += providers::MessageEventWriter::error_event(error);
    (void)co_await end_with(writer_, queued_);
  }

 private:
  net::ResponseWriter& writer_;
  providers::MessageEventWriter events_;
  std::string queued_;
};

// The Message id: the gateway's request id, so a client's message and the access log meet.
std::string message_id(const Exchange& writer) {
  return "msg_" + writer.request_id();
}

std::optional<Error> model_refused(const Exchange& writer, const ChatRequest& chat) {
  if (writer.client == nullptr || writer.client->allows(chat.model)) return std::nullopt;
  Error e;
  e.kind = ErrorKind::kPermission;
  e.code = "model_not_allowed";
  e.message = "client '" + writer.client->name + "' may not use model '" + chat.model + "'";
  return e;
}

awaitable<void> stream_message(gateway::Forwarder& forwarder, ChatRequest chat, Exchange& writer) {
  AnthropicSseSink sink(writer, message_id(writer), chat.model);
  writer.report.caller = caller_of(writer.client);
  Status status = co_await forwarder.stream(chat, sink, writer, writer.report);
  if (!status) co_await send_anthropic_error(writer, std::move(status).error());
}

awaitable<void> complete_message(gateway::Forwarder& forwarder, ChatRequest chat,
                                 Exchange& writer) {
  writer.report.caller = caller_of(writer.client);
  auto response = co_await forwarder.complete(chat, writer, writer.report);
  if (!response) {
    co_await send_anthropic_error(writer, response.error());
    co_return;
  }
  const std::string id = message_id(writer);
  auto message = providers::message_of(*response, id, chat.model);
  if (!message) {
    co_await send_anthropic_error(writer, message.error());
    co_return;
  }
  co_await send_json(writer, 200, std::move(message).value());
}

// Not a coroutine: it reads the request now and returns the answer's own coroutine (see
// chat_api.cpp's chat()).
awaitable<void> create_message(gateway::Forwarder& forwarder, net::HttpRequest& request,
                               Exchange& writer) {
  auto parsed = providers::parse_messages_request(request.body());
  if (!parsed) return send_anthropic_error(writer, std::move(parsed).error());
  auto& chat = *parsed;
  if (auto refused = model_refused(writer, chat)) {
    return send_anthropic_error(writer, std::move(*refused));
  }
  if (auto over = take_budget(writer, chat)) return send_anthropic_error(writer, std::move(*over));
  if (chat.stream) {
    request.base().clear();  // nothing reads the header fields from here on (chat_api.cpp)
    return after_shared_budget(forwarder, writer,
                               stream_message(forwarder, std::move(chat), writer), true);
  }
  return after_shared_budget(forwarder, writer,
                             complete_message(forwarder, std::move(chat), writer), true);
}

// count_tokens: the gateway's estimate (providers::estimate_input_tokens), whatever the
// upstream; it names a configured model the client may use, as /v1/messages would.
awaitable<void> count_tokens(const gateway::Gateway& gateway, const net::HttpRequest& request,
                             Exchange& writer) {
  auto parsed =
      providers::parse_messages_request(request.body(), providers::MessagesCall::kCountTokens);
  if (!parsed) return send_anthropic_error(writer, std::move(parsed).error());
  if (auto refused = model_refused(writer, *parsed)) {
    return send_anthropic_error(writer, std::move(*refused));
  }
  bool known = false;
  for (std::size_t i = 0; i < gateway.model_count(); ++i) {
    known = known || gateway.model(i).config->name == parsed->model;
  }
  if (!known) {
    return send_anthropic_error(
        writer, Error::not_found("model '" + parsed->model + "' is not configured on this gateway",
                                 "model_not_found"));
  }
  boost::json::object out{{"input_tokens", providers::estimate_input_tokens(*parsed)}};
  return send_json(writer, 200, boost::json::serialize(out));
}

}  // namespace

bool anthropic_dialect(std::string_view path) {
  return path == "/v1/messages" || path.starts_with("/v1/messages/");
}

void add_messages_routes(Router& router, gateway::Forwarder& forwarder) {
  auto* f = &forwarder;
  router.add(http::verb::post, "/v1/messages",
             [f](net::HttpRequest& r, Exchange& w) { return create_message(*f, r, w); });
  router.add(
      http::verb::post, "/v1/messages/count_tokens",
      [f](const net::HttpRequest& r, Exchange& w) { return count_tokens(f->gateway(), r, w); });
}

}  // namespace bc::api
