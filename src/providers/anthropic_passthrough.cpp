// Anthropic's Messages API passed through: a caller of POST /v1/messages (or count_tokens)
// whose request goes to an `anthropic` upstream is served without a round trip through the
// OpenAI shape. Its body goes on with the upstream's model id, the answer and the events come
// back as they are (but for `model`, which names what the caller asked for), and the gateway
// reads only what it needs: the token counts, the stop reason and any error. Pure.
#include <boost/json.hpp>

#include "core/json_text.h"
#include "providers/anthropic.h"
#include "providers/anthropic_wire.h"
#include "providers/json_read.h"
#include "providers/openai.h"

namespace bc::providers {

namespace json = boost::json;

namespace {

constexpr std::string_view kName = kAnthropicName;

// Whether an answer's `model` is to say the caller's name instead of the upstream's id. The
// caller asked for its configured name; an answer naming another model would read as if the
// gateway had served a different one (and a client that checks it, as Claude Code shows it,
// would be confused). The upstream's id stays in the access log's target.
bool rename(const json::object& message, std::string_view client_model) {
  const auto* model = message.if_contains("model");
  return model != nullptr && model->is_string() && model->as_string() != client_model;
}

// `event: <name>\ndata: <data>\n\n`, with one `data:` line per line of a multi-line payload.
void frame_event(std::string_view name, std::string_view data, std::string& out) {
  out.append("event: ").append(name).append("\n");
  for (;;) {
    const auto nl = data.find('\n');
    out.append("data: ").append(data.substr(0, nl)).append("\n");
    if (nl == std::string_view::npos) break;
    data.remove_prefix(nl + 1);
  }
  out.append("\n");
}

// Every event is read (AnthropicEventDecoder): one that does not parse must not reach the
// client's SDK, and before the first byte it is a failure another key may answer instead.
class PassthroughDecoder final : public AnthropicEventDecoder {
 public:
  explicit PassthroughDecoder(std::string client_model) : client_model_(std::move(client_model)) {}

 protected:
  Status event(const SseEvent& ev, json::object& event, const std::string& type,
               std::vector<ChatDelta>& out) override {
    const std::string_view name = ev.name.empty() ? std::string_view(type) : ev.name;

    ChatDelta delta;
    if (type == "message_start") {
      delta.event_preamble = true;
      if (auto* message = event.if_contains("message"); message && message->is_object()) {
        auto& m = message->as_object();
        if (const auto* u = object_at(m, "usage")) tokens_.read(*u);
        if (rename(m, client_model_)) {
          m["model"] = client_model_;
          frame_event(name, json_text(event), delta.event);
        }
      }
    } else if (type == "ping") {
      delta.event_preamble = true;
    } else if (type == "content_block_start") {
      const auto* block = object_at(event, "content_block");
      delta.event_preamble = block != nullptr && text_of(block->if_contains("type")) == "text" &&
                             text_of(block->if_contains("text")).empty();
    } else if (type == "content_block_delta") {
      if (const auto* d = object_at(event, "delta")) delta.text = text_of(d->if_contains("text"));
    } else if (type == "message_delta") {
      if (const auto* d = object_at(event, "delta")) {
        if (auto reason = text_of(d->if_contains("stop_reason")); !reason.empty()) {
          delta.finish_reason = finish_reason_of(reason);
        }
      }
      if (const auto* u = object_at(event, "usage")) tokens_.read(*u);
      delta.usage = tokens_.usage();
    } else if (type == "message_stop") {
      done_ = true;
    }
    if (delta.event.empty()) frame_event(name, ev.data, delta.event);
    out.push_back(std::move(delta));
    return {};
  }

 private:
  std::string client_model_;
  TokenCounts tokens_;
};

}  // namespace

UpstreamRequest passthrough_request(const ChatRequest::Messages& messages,
                                    const std::string& upstream_model, std::string_view base,
                                    const Credential& credential, bool stream) {
  json::object body = messages.body;
  body["model"] = upstream_model;
  UpstreamRequest req;
  req.url = join_url(base, messages.count_tokens ? "/messages/count_tokens" : "/messages");
  req.headers.push_back({"x-api-key", credential.secret});
  req.headers.push_back({"anthropic-version", messages.version.empty()
                                                  ? std::string(kAnthropicVersion)
                                                  : messages.version});
  if (!messages.beta.empty()) req.headers.push_back({"anthropic-beta", messages.beta});
  req.headers.push_back({"Content-Type", "application/json"});
  req.body = json_text(body);
  req.stream = stream;
  return req;
}

Result<ChatResponse> passthrough_answer(const ChatRequest& request,
                                        const UpstreamResponse& response) {
  json::error_code ec;
  json::value parsed = json::parse(response.body, ec);
  if (ec || !parsed.is_object()) {
    return provider_error(kName,
                          "upstream anthropic answered with a body that is not a JSON object");
  }
  json::object& answer = parsed.as_object();
  if (answer.contains("error") || text_of(answer.if_contains("type")) == "error") {
    return classify_anthropic(response.status, response.headers, response.body);
  }
  ChatResponse out;
  if (request.messages && request.messages->count_tokens) {
    const auto* tokens = answer.if_contains("input_tokens");
    if (tokens == nullptr || !tokens->is_number()) {
      return provider_error(kName, "upstream anthropic counted no 'input_tokens'");
    }
    out.message_json = response.body;
    return out;
  }
  const auto* content = answer.if_contains("content");
  if (content == nullptr || !content->is_array()) {
    return provider_error(kName, "upstream anthropic answered without a 'content' array");
  }
  TokenCounts tokens;
  if (const auto* u = object_at(answer, "usage")) tokens.read(*u);
  out.usage = tokens.usage();
  if (rename(answer, request.model)) {
    answer["model"] = request.model;
    out.message_json = json_text(answer);
  } else {
    out.message_json = response.body;
  }
  return out;
}

std::unique_ptr<StreamDecoder> passthrough_decoder(std::string client_model) {
  return std::make_unique<PassthroughDecoder>(std::move(client_model));
}

}  // namespace bc::providers
