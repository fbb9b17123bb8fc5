// The upstream client's request head, written by hand (see request_writer.h).
#include "net/request_writer.h"

#include <algorithm>

#include <boost/beast/core/string.hpp>

namespace bc::net {

using namespace std::string_view_literals;
namespace beast = boost::beast;

namespace {

// A name that may be a caller's copy of a framing or connection header, which are ours to set.
bool is_framing_header(std::string_view name) {
  return beast::iequals(name, "host") || beast::iequals(name, "content-length") ||
         beast::iequals(name, "transfer-encoding") || beast::iequals(name, "connection");
}

// Whether `text` holds a CR or an LF. (Two memchr scans: find_first_of of a set tests the set
// once per byte, a cost paid on every key's header.)
bool has_line_break(std::string_view text) {
  return text.find('\r') != std::string_view::npos || text.find('\n') != std::string_view::npos;
}

// Whether `text` holds a byte of a header name or method that would break the request line or
// a header line.
bool has_separator(std::string_view text, bool colon) {
  return std::any_of(text.begin(), text.end(), [colon](char c) {
    return c == '\r' || c == '\n' || c == ' ' || c == '\t' || (colon && c == ':');
  });
}

}  // namespace

Status write_request(const UpstreamRequest& request, const RequestTarget& where,
                     OutgoingRequest& req) {
  if (request.method.empty() || has_separator(request.method, false)) {
    return Error::internal("upstream request method is malformed", "invalid_upstream_request");
  }
  std::string& h = req.head;
  h.reserve(256 + request.headers.size() * 64);
  h.append(request.method).append(" "sv).append(where.target).append(" HTTP/1.1\r\nHost: "sv);
  h.append(where.host_header).append("\r\n"sv);
  bool has_user_agent = false;
  for (const auto& header : request.headers) {
    // A line break would let a value (say, a key pasted with a newline) forge more headers.
    // The error names the header only: its value may be the key.
    if (has_line_break(header.value) || header.name.empty() || has_separator(header.name, true)) {
      return Error::internal("upstream request header '" +
                                 header.name.substr(0, header.name.find_first_of("\r\n")) +
                                 "' is malformed",
                             "invalid_upstream_request");
    }
    if (is_framing_header(header.name)) continue;
    has_user_agent = has_user_agent || beast::iequals(header.name, "user-agent");
    h.append(header.name).append(": "sv).append(header.value).append("\r\n"sv);
  }
  if (!has_user_agent) h.append("User-Agent: "sv).append(where.user_agent).append("\r\n"sv);
  h.append("Connection: keep-alive\r\n"sv);
  const bool sends_body = !request.body.empty() || request.method == "POST" ||
                          request.method == "PUT" || request.method == "PATCH";
  if (sends_body) h.append("Content-Length: "sv).append(std::to_string(request.body.size()));
  if (sends_body) h.append("\r\n"sv);
  h.append("\r\n"sv);
  req.body = request.body;
  req.is_head = request.method == "HEAD";
  req.stream = request.stream;
  return {};
}

}  // namespace bc::net
