// The whole HTTP API of one worker thread: its forwarder (with that thread's upstream
// connection pool) and the router over every endpoint.
#pragma once

#include <memory>

#include "gateway/gateway.h"
#include "net/http_server.h"

namespace bc::api {

// Makes the net::HandlerFactory that main() gives the server.
net::HandlerFactory make_handler_factory(std::shared_ptr<gateway::Gateway> gateway);

}  // namespace bc::api
