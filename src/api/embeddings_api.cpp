#include "api/embeddings_api.h"

#include "api/chat_api.h"
#include "api/reply.h"

namespace bc::api {

namespace http = boost::beast::http;

namespace {

awaitable<void> answer(gateway::Forwarder& forwarder, EmbeddingRequest request, Exchange& writer) {
  writer.report.caller = caller_of(writer.client);
  auto response = co_await forwarder.embed(request, writer, writer.report);
  if (!response) {
    co_await send_error(writer, std::move(response).error());
    co_return;
  }
  // The upstream's count when it gave one; else the estimate, which the usage ledger marks
  // as estimated (report.usage stays empty).
  Usage usage;
  if (writer.report.usage) {
    usage = *writer.report.usage;
  } else {
    usage.prompt_tokens = writer.report.estimate.prompt_tokens;
    usage.total_tokens = writer.report.estimate.prompt_tokens;
  }
  if (usage.total_tokens < usage.prompt_tokens) usage.total_tokens = usage.prompt_tokens;
  // A named local, not a temporary in the co_await's arguments (GCC 12 coroutines).
  std::string body = render_embeddings(*response, request.model, request.base64, usage);
  co_await send_json(writer, 200, std::move(body));
}

// Not a coroutine: it reads the request now and returns the answer's coroutine, which takes
// the parsed request with it.
awaitable<void> embeddings(gateway::Forwarder& forwarder, net::HttpRequest& request,
                           Exchange& writer) {
  auto parsed = parse_embedding_request(request.body());
  if (!parsed) return send_error(writer, std::move(parsed).error());
  if (writer.client != nullptr && !writer.client->allows(parsed->model)) {
    Error e;
    e.kind = ErrorKind::kPermission;
    e.code = "model_not_allowed";
    e.param = "model";
    e.message = "client '" + writer.client->name + "' may not use model '" + parsed->model + "'";
    return send_error(writer, std::move(e));
  }
  if (auto over = take_budget(writer, parsed->estimated_tokens())) {
    return send_error(writer, std::move(*over));
  }
  // A pending budget (the ledger's allowance) and the budgets in Redis are taken before it.
  return after_shared_budget(forwarder, writer,
                             answer(forwarder, std::move(parsed).value(), writer), false);
}

}  // namespace

void add_embeddings_routes(Router& router, gateway::Forwarder& forwarder) {
  auto* f = &forwarder;
  router.add(http::verb::post, "/v1/embeddings",
             [f](net::HttpRequest& r, Exchange& w) { return embeddings(*f, r, w); });
}

}  // namespace bc::api
