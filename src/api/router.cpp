#include "api/router.h"

#include "api/reply.h"

namespace bc::api {

namespace http = boost::beast::http;

void Router::add(http::verb method, std::string path, RouteHandler handler) {
  routes_.push_back({method, std::move(path), false, std::move(handler)});
}

void Router::add_prefix(http::verb method, std::string prefix, RouteHandler handler) {
  routes_.push_back({method, std::move(prefix), true, std::move(handler)});
}

std::string_view request_path(const net::HttpRequest& request) {
  const std::string_view target = request.target();
  return target.substr(0, target.find('?'));
}

std::string_view Router::route_of(const net::HttpRequest& request) const {
  const auto path = request_path(request);
  for (const auto& r : routes_) {
    if (r.prefix ? path.starts_with(r.path) : path == r.path) return r.path;
  }
  return "-";
}

// Not a coroutine: it returns the handler's own awaitable, so an open stream keeps no frame
// of the router's.
awaitable<void> Router::dispatch(net::HttpRequest& request, Exchange& writer) const {
  const auto path = request_path(request);
  std::string allow;
  for (const auto& r : routes_) {
    const bool match = r.prefix ? path.starts_with(r.path) : path == r.path;
    if (!match) continue;
    if (r.method == request.method()) return r.handler(request, writer);
    if (!allow.empty()) allow += ", ";
    allow += std::string(http::to_string(r.method));
  }
  if (!allow.empty()) {
    Error e;
    e.kind = ErrorKind::kMethodNotAllowed;
    e.code = "method_not_allowed";
    e.message = "method " + std::string(request.method_string()) + " is not allowed on " +
                std::string(path) + " (allowed: " + allow + ")";
    Headers extra;
    extra.push_back(Header{"Allow", allow});
    return send_error(writer, std::move(e), std::move(extra));
  }
  return send_error(writer,
                    Error::not_found("no such endpoint: " + std::string(path), "unknown_endpoint"));
}

}  // namespace bc::api
