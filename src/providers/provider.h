// A provider adapter translates between the normalized OpenAI-shaped vocabulary and one
// upstream wire format. It is pure: no sockets, no clock reads, no logging, so it is unit
// tested and fuzzed directly. The gateway calls it from any coroutine; adapters are immutable
// after construction and safe to share between threads.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/chat.h"
#include "core/http.h"
#include "core/result.h"

namespace bc::providers {

using bc::Header;
using bc::Headers;
using bc::UpstreamRequest;
using bc::UpstreamResponse;

// One API key as the adapter needs it to sign a request.
struct Credential {
  std::string secret;  // the raw key; never logged, never returned to a client
  std::string id;      // the key's public id (configured name or masked key)
};

// Settings of the mock provider (built into the binary, no network).
struct MockOptions {
  int latency_ms = 150;            // time before the first token
  double tokens_per_second = 40;   // streaming pace after the first token
  std::string reply;               // fixed answer text; empty: a short answer about the prompt
};

// What an adapter knows of the model it serves, from the config.
struct ProviderOptions {
  std::string model_name;                    // the configured name clients use
  std::string upstream_model;                // the provider's model id
  std::string base_url;                      // e.g. https://open.bigmodel.cn/api/paas/v4
  std::optional<double> default_temperature; // applied when the caller gave none
  bool supports_tools = false;
  MockOptions mock;
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
  // Classifies a non-2xx upstream answer: fail, retry on another key, cool the key down,
  // disable it. The default follows HTTP semantics and Retry-After.
  virtual Error classify(int status, const Headers& headers,
                         std::string_view body) const;
};

}  // namespace bc::providers
