// What the two halves of the `anthropic` adapter share: its error classification, stop
// reasons and token counts. anthropic.cpp translates OpenAI-shaped requests to the Messages
// API; anthropic_passthrough.cpp sends a Messages API caller's own request on unchanged.
// Internal to providers/.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include <boost/json/object.hpp>

#include "providers/native.h"
#include "providers/provider.h"

namespace bc::providers {

inline constexpr std::string_view kAnthropicName = "anthropic";

// A non-2xx answer, or an error inside a 200 body or stream (then its type gives the status).
Error classify_anthropic(int status, const Headers& headers, std::string_view body);

// OpenAI's finish_reason for an Anthropic stop_reason.
std::string finish_reason_of(std::string_view stop_reason);

// An answer's token counts: message_start, message_delta and a whole Message report them.
struct TokenCounts {
  std::int64_t input = 0;
  std::int64_t cache_creation = 0;
  std::int64_t cache_read = 0;
  std::int64_t output = 0;

  // Later reports repeat or update counts; absent fields keep their value.
  void read(const boost::json::object& usage) {
    auto take = [&](std::string_view key, std::int64_t& field) {
      if (const auto* v = usage.if_contains(key); v != nullptr && v->is_number()) {
        field = json_int(v);
      }
    };
    take("input_tokens", input);
    take("cache_creation_input_tokens", cache_creation);
    take("cache_read_input_tokens", cache_read);
    take("output_tokens", output);
  }
  Usage usage() const { return make_usage(input + cache_creation + cache_read, output); }
};

// The Messages API's events as both halves read them: blank events skipped, an `error` event
// classified, every other event parsed (one that does not parse is a malformed stream, never
// passed on) and handed to event() with its type (the `type` member, else the event's name).
class AnthropicEventDecoder : public FramedStreamDecoder {
 public:
  AnthropicEventDecoder() : FramedStreamDecoder(kAnthropicName, Framing::kSse) {}

 protected:
  std::string_view end_marker() const override { return "message_stop"; }
  Status frame(SseEvent& ev, std::vector<ChatDelta>& out) final;
  virtual Status event(const SseEvent& ev, boost::json::object& event, const std::string& type,
                       std::vector<ChatDelta>& out) = 0;
};

// Passthrough, for a request that came in through the Messages API (ChatRequest::messages):
// the caller's body with only `model` replaced by the upstream's id, to {base}/messages or
// {base}/messages/count_tokens, with the key in x-api-key and the caller's anthropic-version
// (the adapter's when it sent none) and anthropic-beta.
UpstreamRequest passthrough_request(const ChatRequest::Messages& messages,
                                    const std::string& upstream_model, std::string_view base,
                                    const Credential& credential, bool stream);
// The upstream's Message as it sent it, but for `model`, which says the name the caller used
// (`client_model`) when the upstream's id differs; or its count_tokens answer as it is. Usage
// from the Message's counts (none for count_tokens). Errors classified as the adapter does.
Result<ChatResponse> passthrough_answer(const ChatRequest& request,
                                        const UpstreamResponse& response);
// The upstream's events one by one (ChatDelta::event), message_start's model named as in
// passthrough_answer, usage counted from message_start and message_delta; an `error` event
// or a payload that is not JSON is an error (the forwarder fails over when nothing was sent).
std::unique_ptr<StreamDecoder> passthrough_decoder(std::string client_model);

}  // namespace bc::providers
