// The OpenAI Chat Completions wire format, and the pieces every
// OpenAI-compatible adapter reuses: body encoding, completion decoding, the chunk stream
// decoder. Adapters for upstreams that differ a little (Zhipu, and later DeepSeek, Qwen, …)
// build on these and change only what differs.
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include <boost/json/object.hpp>

#include "providers/chunk_sequence.h"
#include "providers/provider.h"
#include "providers/sse.h"

namespace bc::providers {

inline constexpr std::string_view kOpenAiBaseUrl = "https://api.openai.com/v1";

// Classifies an error reported inside a 2xx body or a stream (status 200, no headers in a
// stream). A plain function so decoders never point back at their provider.
using ErrorClassifier = Error (*)(int status, const Headers& headers, std::string_view body);

// What a decoder needs to know of the provider it decodes for.
struct Dialect {
  std::string_view provider;  // "openai", "zhipu", "mock": Error.source is "upstream:<provider>"
  ErrorClassifier classify;
};

// OpenAI's own dialect: errors classified by HTTP status (upstream_error.h).
Dialect openai_dialect();

// `base` with any trailing '/' removed, then `path` (which starts with '/').
std::string join_url(std::string_view base, std::string_view path);

// The caller's body prepared for an OpenAI-compatible upstream: `model` set to the upstream
// id, `default_temperature` applied when the caller gave none, tool fields dropped when the
// model does not support tools, `stream` set from the request, `stream_options` dropped when
// not streaming and `include_usage: true` in it when streaming, whatever the caller asked
// (the gateway counts every answer's tokens; the client gets usage only when it asked:
// providers/openai_shape.h).
boost::json::object openai_body(const ChatRequest& request, const ProviderOptions& options);
// json_text(openai_body(request, options)) up to member order, written straight from the
// caller's object without copying it: for adapters that send that body unchanged.
std::string openai_body_text(const ChatRequest& request, const ProviderOptions& options);

// POST `url` with bearer auth (omitted for an empty secret) and the body: JSON text, or an
// object to serialize.
UpstreamRequest openai_request(std::string url, std::string body, const Credential& credential,
                               bool stream);
UpstreamRequest openai_request(std::string url, const boost::json::object& body,
                               const Credential& credential, bool stream);

// Token counts from an OpenAI `usage` object; total = prompt + completion when absent.
Usage read_usage(const boost::json::object& usage);

// Parses a 2xx body as a JSON object; an error object inside it is classified.
Result<boost::json::object> parse_answer(const UpstreamResponse& response, const Dialect& dialect);
// Checks the shape of a chat.completion (choices is an array) and reads its usage.
Result<ChatResponse> completion_response(boost::json::object completion, const Dialect& dialect);

// SSE of chat.completion.chunk objects ending with `data: [DONE]`. Each chunk is relayed as
// the upstream's own bytes unless it had to be changed: a missing `object` is set to
// "chat.completion.chunk" and a missing or null `choices` becomes [] (some compatibles send
// a usage chunk without it), and `adjust` may change more.
class OpenAiStreamDecoder : public StreamDecoder {
 public:
  explicit OpenAiStreamDecoder(Dialect dialect) : dialect_(dialect) {}

  Status feed(std::string_view bytes, std::vector<ChatDelta>& out) override;
  Status finish(std::vector<ChatDelta>& out) override;
  bool done() const override { return done_; }
  // feed() with the chunks relayed unchanged lent (RelayDelta::lent_chunk, and lent_event when
  // the upstream framed the event as the client gets it), and runs of ordinary content chunks
  // merged (RelayDelta::chunks) unless merge_runs(false).
  Status feed_relay(std::string_view bytes, std::vector<RelayDelta>& out) override;
  // Whether feed_relay() merges runs (for the tests: each chunk lent on its own).
  void merge_runs(bool merge) { merge_runs_ = merge; }
  // How many events whole_event() read (for the tests).
  std::size_t events_read_whole() const { return events_read_whole_; }

 protected:
  // A provider's fixes to one chunk; set `changed` when the chunk must be re-serialized.
  // An error ends the stream (a finish reason that means failure, for example).
  virtual Status adjust(boost::json::object& chunk, bool& changed);
  // True when adjust() may change chunks: then every chunk takes the tree path. Ordinary
  // chunks of a decoder that adjusts nothing are only scanned (providers/chunk_scan.h).
  virtual bool adjusts_chunks() const { return false; }
  Error stream_error(std::string message) const;
  // `e` as this provider's (its source "upstream:<provider>").
  Error tag(Error e) const;

 private:
  // feed() into ChatDeltas, or feed_relay() into RelayDeltas, which are lent and merged. (One
  // code for both, so that feed() pays for no conversion.)
  template <class Delta>
  Status decode(std::string_view bytes, std::vector<Delta>& out);
  // `chunks` reads ordinary chunks (nullptr: each scanned on its own).
  template <class Delta>
  Status event(SseEventView ev, std::vector<Delta>& out, ChunkSequenceScanner* chunks);
  // The usual event, read without the SSE parser when `bytes` starts with it: a whole
  // `data: <chunk>` LF LF of an ordinary chunk. Appends its delta and returns how many bytes
  // it took; 0 (nothing done) otherwise.
  template <class Delta>
  std::size_t whole_event(std::string_view bytes, std::vector<Delta>& out,
                          ChunkSequenceScanner& chunks);
  // whole_event() for a chunk that repeats the previous one around a new content string
  // (`bytes` starts with `data: `): the chunk's size, or 0.
  template <class Delta>
  std::size_t repeat_event(std::string_view bytes, std::size_t max_chunk, std::vector<Delta>& out,
                           ChunkSequenceScanner& chunks);
  // The delta the event at `event` may join as one more chunk of its run
  // (merge_runs), or nullptr.
  RelayDelta* run_before(const char* event, std::vector<RelayDelta>& out,
                         const ChunkSequenceScanner& chunks) const;
  // Appends the delta of a chunk relayed unchanged; `raw` is its whole event when the
  // upstream framed it as the client gets it.
  template <class Delta>
  void relay(ChunkFields&& fields, std::string_view data, std::string_view raw, bool in_fed,
             std::vector<Delta>& out) const;
  Status fail(Error error);

  Dialect dialect_;
  SseParser parser_;
  std::string_view fed_;  // the bytes of the feed() under way: chunks lying in them are lent
  bool done_ = false;
  bool failed_ = false;
  bool merge_runs_ = true;
  std::size_t events_read_whole_ = 0;
  Error error_;
};

// The OpenAI adapter. Also the base of adapters that differ only a little.
class OpenAiProvider : public Provider {
 public:
  explicit OpenAiProvider(ProviderOptions options, Dialect dialect = openai_dialect());

  Result<UpstreamRequest> encode(const ChatRequest& request,
                                 const Credential& credential) const override;
  Result<ChatResponse> decode(const UpstreamResponse& response) const override;
  std::unique_ptr<StreamDecoder> stream_decoder() const override;
  // Delegates to the dialect's classifier.
  Error classify(int status, const Headers& headers, std::string_view body) const override;
  // POST {base_url}/embeddings in OpenAI's shape (providers/embeddings.h).
  bool embeds() const override { return true; }
  Result<UpstreamRequest> encode_embeddings(const EmbeddingRequest& request,
                                            const Credential& credential) const override;
  Result<EmbeddingResponse> decode_embeddings(const UpstreamResponse& response) const override;

 protected:
  ProviderOptions options_;
  Dialect dialect_;
};

std::unique_ptr<Provider> make_openai(ProviderOptions options);

}  // namespace bc::providers
