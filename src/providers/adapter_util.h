// Pieces shared by the adapters of providers that are OpenAI-like with quirks (Spark, Baidu):
// numeric business codes in error bodies turned into Errors by a table, and the text of an
// OpenAI message content.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <boost/json/fwd.hpp>

#include "core/error.h"
#include "core/http.h"
#include "providers/provider.h"
#include "providers/sse.h"

namespace bc::providers {

// What one business code means: the caller's error and the effect on the key.
struct CodeClass {
  ErrorKind kind;
  std::string_view code;  // the OpenAI-style code the client sees
  bool retryable;
  KeyAction action;
  std::chrono::milliseconds cooldown{0};
};

// Short names for the code tables of zhipu, spark and baidu, so that each code's CodeClass
// reads as one row: `using namespace code_table;` where a table is written.
namespace code_table {
inline constexpr auto kAuth = ErrorKind::kAuthentication;
inline constexpr auto kPerm = ErrorKind::kPermission;
inline constexpr auto kBad = ErrorKind::kInvalidRequest;
inline constexpr auto kRate = ErrorKind::kRateLimited;
inline constexpr auto kUp = ErrorKind::kUpstream;
inline constexpr auto kNone = KeyAction::kNone;
inline constexpr auto kCool = KeyAction::kCooldown;
inline constexpr auto kOff = KeyAction::kDisable;
}  // namespace code_table

// The error for `cls`, with source "upstream:<provider>" and a message naming the HTTP status
// (or "reported an error" for a 2xx), the upstream's code and its (already scrubbed) message.
Error business_error(std::string_view provider, int status, std::string_view upstream_code,
                     std::string_view message, const CodeClass& cls);

// A whole decimal integer, or nullopt.
std::optional<std::int64_t> parse_code(std::string_view text);

// Until 00:00 Asia/Shanghai (UTC+8), when Chinese providers reset daily quotas, from the
// answer's Date header; an hour when there is none.
std::chrono::milliseconds until_shanghai_midnight(const Headers& headers);

// The text of an OpenAI message `content`: a string as is, the `text` of every text part of
// an array joined with nothing between, "" for anything else (null, images only).
std::string content_text(const boost::json::value& content);

// A stream decoder that sees every SSE event first and decides what to do with it: handle it
// (an error carried by a provider-specific field, a provider's own chunk shape), or pass it
// on unchanged to an inner decoder (an OpenAiStreamDecoder for OpenAI-like streams). It also
// accepts a body that is one JSON object instead of SSE, which providers send when a
// streamed call fails before generation (legacy Baidu): a body whose first
// non-blank byte is '{' is collected whole and handed to json_body() when it ends.
class SseFilterDecoder : public StreamDecoder {
 public:
  Status feed(std::string_view bytes, std::vector<ChatDelta>& out) final;
  Status finish(std::vector<ChatDelta>& out) final;
  bool done() const final { return done_; }

 protected:
  // `inner` may be null: then every event must be handled here and the subclass calls end().
  SseFilterDecoder(std::string_view provider, std::unique_ptr<StreamDecoder> inner);

  // One SSE event: true to pass it on to the inner decoder; false when handled here (chunks
  // appended to `out`, end() called). An error ends the stream.
  virtual Result<bool> event(const SseEvent& ev, std::vector<ChatDelta>& out) = 0;
  // The body was a JSON object instead of SSE; the error it stands for.
  virtual Error json_body(std::string_view body) = 0;
  // The inner decoder saw its end marker; may append a last chunk.
  virtual void inner_done(std::vector<ChatDelta>&) {}
  // The stream is complete: later bytes are ignored and finish() succeeds.
  void end() { done_ = true; }
  // An upstream error tagged with this provider.
  Error stream_error(std::string message) const;

 private:
  Status events(std::vector<ChatDelta>& out);
  Status forward(const SseEvent& ev, std::vector<ChatDelta>& out);
  Status fail(Error error);

  enum class Mode { kUnknown, kSse, kJson };

  std::string provider_;
  std::unique_ptr<StreamDecoder> inner_;
  SseParser parser_;
  std::vector<SseEvent> pending_;
  Mode mode_ = Mode::kUnknown;
  std::string body_;  // blank bytes before the mode is known; the whole body in JSON mode
  bool done_ = false;
  bool failed_ = false;
  Error error_;
};

}  // namespace bc::providers
