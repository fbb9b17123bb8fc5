// The request the upstream client sends, its head written by hand into one string: a pure
// function with no I/O, unit-tested and fuzzed (fuzz/request_writer_fuzzer.cpp) on its own.
#pragma once

#include <string>
#include <string_view>

#include "core/http.h"
#include "core/result.h"

namespace bc::net {

// The request as sent: its head (Beast's serializer walks a chain of buffer views on every
// write, a measurable share of a request's CPU), and the caller's body in place, without a
// copy.
struct OutgoingRequest {
  std::string head;
  std::string_view body;  // the UpstreamRequest's body: valid while it lives
  bool is_head = false;   // a HEAD request: the response has no body whatever it declares
  bool stream = false;    // the answer is a stream (UpstreamRequest::stream)
};

// Where the request goes, as the head names it.
struct RequestTarget {
  std::string_view target;       // origin-form: path and query
  std::string_view host_header;  // the Host field's value
  std::string_view user_agent;   // sent unless the request carries its own User-Agent
};

// Writes `request`'s method, target, Host, the caller's headers and ours (User-Agent unless
// given, Connection: keep-alive, Content-Length when a body is sent) into `out`. The caller's
// Host, Content-Length, Transfer-Encoding and Connection are dropped: framing is ours. A method
// or header that would break the head (a line break, a separator in a name) is an error
// (invalid_upstream_request) that names the header but never its value, which may be a key.
Status write_request(const UpstreamRequest& request, const RequestTarget& where,
                     OutgoingRequest& out);

}  // namespace bc::net
