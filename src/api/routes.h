// The whole HTTP API of one worker thread: its forwarder (with that thread's upstream
// connection pool) and the router over every endpoint, behind one pipeline per request:
// request id, access control (client keys on /v1 and /llm, the admin token on /admin),
// dispatch, then metrics and the access log.
#pragma once

#include <memory>

#include "gateway/gateway.h"
#include "net/http_server.h"
#include "telemetry/access_log.h"

namespace bc::api {

// Makes the net::HandlerFactory that main() gives the server. `access_log`: where each
// request's line goes; nullptr: no access log.
net::HandlerFactory make_handler_factory(std::shared_ptr<gateway::Gateway> gateway,
                                         std::shared_ptr<telemetry::AccessLog> access_log = {});

}  // namespace bc::api
