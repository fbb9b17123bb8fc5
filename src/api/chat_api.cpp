#include "api/chat_api.h"

#include <boost/json.hpp>

#include "api/reply.h"
#include "api/sinks.h"

namespace bc::api {

namespace http = boost::beast::http;
namespace json = boost::json;

namespace {

enum class Dialect { kOpenAI, kNative };

awaitable<void> chat(gateway::Forwarder& forwarder, const net::HttpRequest& request,
                     net::ResponseWriter& writer, Dialect dialect, bool native_stream) {
  auto parsed = ChatRequest::parse(request.body());
  if (!parsed) {
    co_await send_error(writer, parsed.error());
    co_return;
  }
  auto& chat = *parsed;
  if (dialect == Dialect::kNative) {
    // The seed's endpoints balance over every enabled model and choose streaming by path.
    chat.model.clear();
    chat.stream = native_stream;
    chat.body["stream"] = native_stream;
  }

  gateway::CallReport report;
  if (chat.stream) {
    Status status;
    if (dialect == Dialect::kOpenAI) {
      OpenAISseSink sink(writer);
      status = co_await forwarder.stream(chat, sink, writer, report);
    } else {
      PlainTextSink sink(writer);
      status = co_await forwarder.stream(chat, sink, writer, report);
    }
    if (!status) co_await send_error(writer, status.error());
    co_return;
  }

  auto response = co_await forwarder.complete(chat, writer, report);
  if (!response) {
    co_await send_error(writer, response.error());
    co_return;
  }
  if (dialect == Dialect::kOpenAI) {
    co_await send_json(writer, 200, json::serialize(response->completion));
  } else {
    json::object out;
    out["result"] = response->text();
    co_await send_json(writer, 200, json::serialize(out));
  }
}

awaitable<void> list_models(const gateway::Gateway& gateway, net::ResponseWriter& writer) {
  json::array data;
  for (std::size_t i = 0; i < gateway.model_count(); ++i) {
    const auto& m = *gateway.model(i).config;
    json::object entry;
    entry["id"] = m.name;
    entry["object"] = "model";
    entry["created"] = 0;
    entry["owned_by"] = m.provider;
    data.push_back(std::move(entry));
  }
  json::object out;
  out["object"] = "list";
  out["data"] = std::move(data);
  co_await send_json(writer, 200, json::serialize(out));
}

}  // namespace

void add_chat_routes(Router& router, gateway::Forwarder& forwarder) {
  auto* f = &forwarder;
  router.add(http::verb::post, "/v1/chat/completions",
             [f](const net::HttpRequest& r, net::ResponseWriter& w) {
               return chat(*f, r, w, Dialect::kOpenAI, false);
             });
  router.add(http::verb::get, "/v1/models", [f](const net::HttpRequest&, net::ResponseWriter& w) {
    return list_models(f->gateway(), w);
  });
  router.add(http::verb::post, "/llm/chat", [f](const net::HttpRequest& r, net::ResponseWriter& w) {
    return chat(*f, r, w, Dialect::kNative, false);
  });
  router.add(http::verb::post, "/llm/chat/stream",
             [f](const net::HttpRequest& r, net::ResponseWriter& w) {
               return chat(*f, r, w, Dialect::kNative, true);
             });
}

}  // namespace bc::api
