#include "core/error.h"

#include <boost/json.hpp>

#include "core/json_text.h"

namespace bc {

int default_status(ErrorKind kind) {
  switch (kind) {
    case ErrorKind::kInvalidRequest:
      return 400;
    case ErrorKind::kAuthentication:
      return 401;
    case ErrorKind::kPermission:
      return 403;
    case ErrorKind::kNotFound:
      return 404;
    case ErrorKind::kMethodNotAllowed:
      return 405;
    case ErrorKind::kPayloadTooLarge:
      return 413;
    case ErrorKind::kRateLimited:
      return 429;
    case ErrorKind::kUpstream:
      return 502;
    case ErrorKind::kUnavailable:
      return 503;
    case ErrorKind::kTimeout:
      return 504;
    case ErrorKind::kInternal:
      return 500;
  }
  return 500;
}

int Error::status() const {
  return http_status != 0 ? http_status : default_status(kind);
}

std::string_view Error::type() const {
  switch (kind) {
    case ErrorKind::kInvalidRequest:
    case ErrorKind::kNotFound:
    case ErrorKind::kMethodNotAllowed:
    case ErrorKind::kPayloadTooLarge:
      return "invalid_request_error";
    case ErrorKind::kAuthentication:
      return "authentication_error";
    case ErrorKind::kPermission:
      return "permission_error";
    case ErrorKind::kRateLimited:
      return "rate_limit_error";
    case ErrorKind::kUpstream:
    case ErrorKind::kUnavailable:
    case ErrorKind::kTimeout:
      return "api_error";
    case ErrorKind::kInternal:
      return "server_error";
  }
  return "server_error";
}

std::string Error::to_json() const {
  boost::json::object inner;
  inner["message"] = message;
  inner["type"] = type();
  // OpenAI's ErrorResponse requires `param` (the request member at fault), null allowed.
  if (param.empty()) {
    inner["param"] = nullptr;
  } else {
    inner["param"] = param;
  }
  if (code.empty()) {
    inner["code"] = nullptr;
  } else {
    inner["code"] = code;
  }
  boost::json::object outer;
  outer["error"] = std::move(inner);
  return json_text(outer);
}

namespace {
Error make(ErrorKind kind, std::string message, std::string code, bool retryable) {
  Error e;
  e.kind = kind;
  e.message = std::move(message);
  e.code = std::move(code);
  e.retryable = retryable;
  return e;
}
}  // namespace

Error Error::invalid_request(std::string message, std::string code) {
  auto e = make(ErrorKind::kInvalidRequest, std::move(message), std::move(code), false);
  e.source = "client";
  return e;
}
Error Error::invalid_param(std::string param, std::string message, std::string code) {
  auto e = invalid_request(std::move(message), std::move(code));
  e.param = std::move(param);
  return e;
}
Error Error::not_found(std::string message, std::string code) {
  auto e = make(ErrorKind::kNotFound, std::move(message), std::move(code), false);
  e.source = "client";
  return e;
}
Error Error::upstream(std::string message, std::string code) {
  return make(ErrorKind::kUpstream, std::move(message), std::move(code), true);
}
Error Error::timeout(std::string message, std::string code) {
  return make(ErrorKind::kTimeout, std::move(message), std::move(code), true);
}
Error Error::unavailable(std::string message, std::string code) {
  return make(ErrorKind::kUnavailable, std::move(message), std::move(code), false);
}
Error Error::internal(std::string message, std::string code) {
  return make(ErrorKind::kInternal, std::move(message), std::move(code), false);
}

}  // namespace bc
