// A provider adapter translates between the normalized OpenAI-shaped vocabulary and one
// upstream wire format. It is pure: no sockets, no clock reads, no logging, so it is unit
// tested and fuzzed directly. The gateway calls it from any coroutine; adapters are immutable
// after construction and safe to share between threads.
#pragma once

#include <any>
#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/chat.h"
#include "core/embedding.h"
#include "core/http.h"
#include "core/result.h"
#include "providers/relay_delta.h"

namespace bc::providers {

using bc::Header;
using bc::Headers;
using bc::UpstreamRequest;
using bc::UpstreamResponse;

// One API key as the adapter needs it to sign a request.
struct Credential {
  std::string secret;  // the raw key; never logged, never returned to a client
  std::string id;      // the key's public id (configured name or masked key)
  // The token minted from `secret` by the provider's credential exchange
  // (Provider::credential_request / decode_credential), cached by the gateway; empty when the
  // provider needs none. Secret like `secret`.
  std::string derived_token{};
  // The attempt's wall-clock time in ms since the Unix epoch, set by the gateway for adapters
  // that sign each request with a timestamp (Zhipu JWT); adapters never read a clock.
  std::int64_t now_unix_ms = 0;
};

// The result of a credential exchange (Baidu legacy access_token).
struct DerivedCredential {
  std::string token;  // goes into Credential::derived_token
  // Lifetime the upstream granted, from when the exchange was sent; 0 when it gave none.
  std::chrono::milliseconds expires_in{0};
  // Use the token until this long after the exchange was sent, then mint a new one: a margin
  // before `expires_in` so that a request never starts with a token about to expire.
  std::chrono::milliseconds refresh_after{0};
};

// What an adapter knows of the model it serves, from the config.
struct ProviderOptions {
  std::string model_name;                     // the configured name clients use
  std::string upstream_model;                 // the provider's model id
  std::string base_url;                       // e.g. https://open.bigmodel.cn/api/paas/v4
  std::optional<double> default_temperature;  // applied when the caller gave none
  bool supports_tools = false;
  // The provider's own options (model_options.h: ZhipuOptions, MockOptions), as its registry
  // row read them from the model's mapping; empty for a provider without any.
  std::any own_options;
};

// Turns the bytes of a streamed upstream body into OpenAI chunks, whatever the byte
// boundaries. One decoder per upstream attempt; not thread-safe.
class StreamDecoder {
 public:
  virtual ~StreamDecoder() = default;
  // Feeds the next bytes as they arrive; decoded chunks are appended to `out`. An error means
  // the upstream reported one inside the stream or sent bytes that cannot be decoded; the
  // chunks appended before it are still valid.
  virtual Status feed(std::string_view bytes, std::vector<ChatDelta>& out) = 0;
  // The upstream closed the body. An error when the stream ended before its end marker.
  virtual Status finish(std::vector<ChatDelta>& out) = 0;
  // True once the end marker was seen ([DONE] or the provider's equivalent).
  virtual bool done() const = 0;

  // feed() and finish() for the stream relay (the forwarder), which passes every delta on
  // before it feeds again, or keep()s it: a decoder may lend its chunks and merge runs of them
  // (RelayDelta). By default the deltas of feed() and finish(), nothing lent.
  virtual Status feed_relay(std::string_view bytes, std::vector<RelayDelta>& out);
  virtual Status finish_relay(std::vector<RelayDelta>& out);
};

class Provider {
 public:
  virtual ~Provider() = default;
  // Builds the upstream request for one key.
  virtual Result<UpstreamRequest> encode(const ChatRequest& request,
                                         const Credential& credential) const = 0;
  // Decodes a complete 2xx upstream answer into an OpenAI chat.completion. Providers that
  // report errors with HTTP 200 return the classified error here.
  virtual Result<ChatResponse> decode(const UpstreamResponse& response) const = 0;
  virtual std::unique_ptr<StreamDecoder> stream_decoder() const = 0;
  // decode() and stream_decoder() for one request. For a Messages API request
  // (ChatRequest::messages), an adapter whose upstream speaks that API itself passes the
  // answer through (ChatResponse::message_json, ChatDelta::event) after its encode() sent the
  // caller's body; by default the request's translation is decoded like any other.
  virtual Result<ChatResponse> decode_for(const ChatRequest& /*request*/,
                                          const UpstreamResponse& response) const {
    return decode(response);
  }
  virtual std::unique_ptr<StreamDecoder> stream_decoder_for(const ChatRequest& /*request*/) const {
    return stream_decoder();
  }
  // Whether the upstream speaks Anthropic's Messages API itself, so that a Messages request
  // passes through (see decode_for), a count_tokens request (ChatRequest::Messages::
  // count_tokens) included: encode() sends it to the upstream's own counter. False by default:
  // the gateway then estimates the count and never hands this adapter such a request.
  virtual bool speaks_messages_api() const { return false; }
  // Classifies a non-2xx upstream answer: fail, retry on another key, cool the key down,
  // disable it. The default follows HTTP semantics and Retry-After.
  virtual Error classify(int status, const Headers& headers, std::string_view body) const;

  // Embeddings (POST /v1/embeddings). Whether this provider's upstream embeds at all: a model
  // configured with `embeddings: true` on a provider that does not is refused at load.
  virtual bool embeds() const { return false; }
  // Builds the upstream request for an embeddings call; the upstream is always asked for
  // floats (the gateway writes base64 itself). Default: refused (the provider cannot embed).
  virtual Result<UpstreamRequest> encode_embeddings(const EmbeddingRequest& request,
                                                    const Credential& credential) const;
  // Decodes a 2xx answer: one vector per input, in order, and the tokens it counted if any.
  virtual Result<EmbeddingResponse> decode_embeddings(const UpstreamResponse& response) const;

  // Derived credentials (Baidu legacy). The request that exchanges `credential.secret` for a
  // token, or nullopt when this provider, or this key, needs no exchange (the default). The
  // gateway sends it, passes the answer (any status) to decode_credential(), caches the token
  // per key for DerivedCredential::refresh_after, and sets Credential::derived_token before
  // encode(). An error classified as KeyAction::kRefreshCredential means the cached token is
  // dead: drop it, exchange again, retry the same key once.
  virtual std::optional<UpstreamRequest> credential_request(const Credential& credential) const;
  // Reads the exchange's answer. Errors carry their KeyAction (a rejected key pair: kDisable).
  virtual Result<DerivedCredential> decode_credential(const UpstreamResponse& response) const;
};

}  // namespace bc::providers
