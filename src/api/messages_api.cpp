#include "api/messages_api.h"

#include <boost/json.hpp>

#include "api/chat_api.h"
#include "api/reply.h"
#include "api/sinks.h"
#include "providers/anthropic_messages.h"

namespace bc::api {

namespace http = boost::beast::http;

namespace {

// A streamed answer as Anthropic's events; the pacer's heartbeats become `event: ping`. Events
// an `anthropic` upstream sent (ChatDelta::event) are relayed as they are; chunks from any
// other upstream are written as events here, message_start first. `upstream_events`: the
// model's upstream sends the events itself (a model has one provider, so every attempt of a
// call speaks the same), and message_start is then its to send: the stream's head and the
// pings that go before it wait for it.
class AnthropicSseSink final : public gateway::StreamSink {
 public:
  AnthropicSseSink(net::ResponseWriter& writer, std::string id, std::string model,
                   bool upstream_events)
      : writer_(writer), events_(std::move(id), std::move(model)), upstream_(upstream_events) {}
  Status begin() override {
    Headers headers;
    headers.push_back({"Cache-Control", "no-cache"});
    headers.push_back({"X-Accel-Buffering", "no"});  // no buffering in nginx-style proxies
    Status begun = writer_.begin_stream(200, "text/event-stream; charset=utf-8", headers);
    if (begun && !upstream_) events_.start(queued_);
    return begun;
  }
  void add(const providers::RelayDelta& delta) override {
    if (!delta.event.empty()) {
      passthrough_ = true;
      queued_ += delta.event;
      return;
    }
    events_.add(delta, queued_);
  }
  awaitable<Status> flush() override { return send_queued(writer_, queued_); }
  awaitable<Status> commit() override { return commit_queued(writer_, queued_); }
  bool takes_heartbeats() const override { return true; }
  // From an upstream that sends its own events, a ping may go before its message_start (held
  // until content comes, see ChatDelta::event_preamble): Anthropic's SDKs skip pings wherever
  // they come.
  void add_heartbeat() override {
    if (upstream_) {
      queued_ += kPing;
    } else {
      events_.ping(queued_);
    }
  }
  awaitable<Status> end() override {
    if (!passthrough_) events_.finish(queued_);  // the upstream's message_stop went already
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
  bool upstream_;
  bool passthrough_ = false;  // events came from the upstream
  static constexpr std::string_view kPing = "event: ping\ndata: {\"type\":\"ping\"}\n\n";
};

// Whether `model`'s upstream speaks the Messages API itself: its requests pass through.
bool passes_through(const gateway::Gateway& gateway, std::string_view model) {
  const auto m = gateway.pool().find_model(model);
  return m && gateway.model(*m).provider->speaks_messages_api();
}

// Reads a Messages request. One the translation refuses (a block type or server tool it has
// no word for) is read again leniently when its model's upstream speaks the API: that
// upstream judges the request it is sent as it came.
Result<ChatRequest> read_request(const gateway::Gateway& gateway, std::string_view body,
                                 providers::MessagesCall call) {
  auto strict = providers::parse_messages_request(body, call);
  if (strict) return strict;
  auto lenient = providers::parse_messages_request(body, call, true);
  if (lenient && passes_through(gateway, lenient->model)) return lenient;
  return strict;
}

// The caller's API version and betas, for an upstream that speaks its API (passthrough).
void keep_headers(const net::HttpRequest& request, ChatRequest::Messages& messages) {
  messages.version = std::string(request["anthropic-version"]);
  messages.beta = std::string(request["anthropic-beta"]);
}

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
  const bool upstream_events = passes_through(forwarder.gateway(), chat.model);
  AnthropicSseSink sink(writer, message_id(writer), chat.model, upstream_events);
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
  // From an `anthropic` upstream: its Message as it is (its id, its content blocks).
  if (!response->message_json.empty()) {
    co_await send_json(writer, 200, std::move(response->message_json));
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
  auto parsed = read_request(forwarder.gateway(), request.body(), providers::MessagesCall::kCreate);
  if (!parsed) return send_anthropic_error(writer, std::move(parsed).error());
  auto& chat = *parsed;
  // Only an upstream that speaks the API reads the caller's own body; any other serves the
  // translation, and the copy need not live as long as the call.
  if (passes_through(forwarder.gateway(), chat.model)) {
    keep_headers(request, *chat.messages);
  } else {
    chat.messages.reset();
  }
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

awaitable<void> count_upstream(gateway::Forwarder& forwarder, ChatRequest chat, Exchange& writer) {
  writer.report.caller = caller_of(writer.client);
  auto response = co_await forwarder.complete(chat, writer, writer.report);
  if (!response) {
    co_await send_anthropic_error(writer, response.error());
    co_return;
  }
  co_await send_json(writer, 200, std::move(response->message_json));
}

// count_tokens: counted by the upstream when the model's provider has a counter of its own
// (Provider::speaks_messages_api, the `anthropic` one), through the same balancing as a
// message; else the gateway's estimate (providers::estimate_input_tokens). It names a
// configured model the client may use, as /v1/messages would.
awaitable<void> count_tokens(gateway::Forwarder& forwarder, const net::HttpRequest& request,
                             Exchange& writer) {
  const auto& gateway = forwarder.gateway();
  auto parsed = read_request(gateway, request.body(), providers::MessagesCall::kCountTokens);
  if (!parsed) return send_anthropic_error(writer, std::move(parsed).error());
  if (auto refused = model_refused(writer, *parsed)) {
    return send_anthropic_error(writer, std::move(*refused));
  }
  if (!gateway.pool().find_model(parsed->model)) {
    return send_anthropic_error(
        writer, Error::not_found("model '" + parsed->model + "' is not configured on this gateway",
                                 "model_not_found"));
  }
  if (passes_through(gateway, parsed->model)) {
    keep_headers(request, *parsed->messages);
    return count_upstream(forwarder, std::move(*parsed), writer);
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
  router.add(http::verb::post, "/v1/messages/count_tokens",
             [f](const net::HttpRequest& r, Exchange& w) { return count_tokens(*f, r, w); });
}

}  // namespace bc::api
