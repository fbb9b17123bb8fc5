// The one error type of the gateway. Retryability and the effect on the key are data on the
// error, decided where they are known (the provider adapter that read the upstream answer),
// and acted on by the forwarder.
#pragma once

#include <chrono>
#include <string>
#include <string_view>

namespace bc {

enum class ErrorKind {
  kInvalidRequest,    // 400: the caller's request is wrong; never retried, never punishes a key
  kAuthentication,    // 401
  kPermission,        // 403
  kNotFound,          // 404
  kMethodNotAllowed,  // 405
  kPayloadTooLarge,   // 413
  kRateLimited,       // 429
  kUpstream,          // 502: the upstream answered wrongly or failed
  kUnavailable,       // 503: nothing can serve the request now
  kTimeout,           // 504
  kInternal,          // 500
};

// What an error means for the key that produced it.
enum class KeyAction {
  kNone,               // the key is fine (bad request, client gone)
  kCooldown,           // take the key out of selection for `cooldown`
  kDisable,            // the key is unusable until an operator acts (auth, balance)
  kRefreshCredential,  // a derived token expired: mint a new one and retry the same key once
};

struct Error {
  ErrorKind kind = ErrorKind::kInternal;
  std::string message;
  // Machine-readable code in the OpenAI error body ("model_not_found", "invalid_json", ...).
  std::string code;
  // Who produced it: "client", "gateway", "upstream:<provider>".
  std::string source = "gateway";
  // May another key or model succeed where this attempt failed?
  bool retryable = false;
  KeyAction key_action = KeyAction::kNone;
  std::chrono::milliseconds cooldown{0};
  // The HTTP status for the client; 0 means "derive from kind".
  int http_status = 0;
  // The request member at fault, as OpenAI's `param` names it ("messages", "messages[2].role",
  // "temperature", "tools", "input"); empty when no one member is (then `param` is null).
  std::string param;

  int status() const;
  // OpenAI's "type" member for this kind ("invalid_request_error", "rate_limit_error", ...).
  std::string_view type() const;
  // {"error":{"message":...,"type":...,"param":...,"code":...}}, OpenAI's ErrorResponse
  std::string to_json() const;

  static Error invalid_request(std::string message, std::string code = "invalid_request");
  // The same, naming the member at fault (`param`).
  static Error invalid_param(std::string param, std::string message, std::string code);
  static Error not_found(std::string message, std::string code = "not_found");
  static Error upstream(std::string message, std::string code = "upstream_error");
  static Error timeout(std::string message, std::string code = "timeout");
  static Error unavailable(std::string message, std::string code = "unavailable");
  static Error internal(std::string message, std::string code = "internal_error");
};

int default_status(ErrorKind kind);

}  // namespace bc
