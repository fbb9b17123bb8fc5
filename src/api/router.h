// Method and path dispatch for the HTTP API. Unknown paths get 404 and known paths with the
// wrong method 405 (with Allow), both in OpenAI's error shape.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include <boost/beast/http/verb.hpp>

#include "api/exchange.h"
#include "net/http_server.h"

namespace bc::api {

using boost::asio::awaitable;
// Handlers that only answer take a net::ResponseWriter&; those that report what they did
// (the chat handlers) take the Exchange.
// A handler may move the request's body out (see net::Handler).
using RouteHandler = std::function<awaitable<void>(net::HttpRequest&, Exchange&)>;

class Router {
 public:
  // Exact path match (the query string is ignored).
  void add(boost::beast::http::verb method, std::string path, RouteHandler handler);
  // Any path that starts with `prefix` (e.g. "/llm/key-load/").
  void add_prefix(boost::beast::http::verb method, std::string prefix, RouteHandler handler);

  awaitable<void> dispatch(net::HttpRequest& request, Exchange& exchange) const;
  // The pattern of the route a path belongs to (whatever the method), "-" when none: the
  // bounded `route` label of metrics and the access log.
  std::string_view route_of(const net::HttpRequest& request) const;

 private:
  struct Route {
    boost::beast::http::verb method;
    std::string path;
    bool prefix;
    RouteHandler handler;
  };
  std::vector<Route> routes_;
};

// The path part of a request target, without the query string.
std::string_view request_path(const net::HttpRequest& request);

}  // namespace bc::api
