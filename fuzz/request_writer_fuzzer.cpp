// net/request_writer.h, whatever the method, headers and body: either a refusal
// (invalid_upstream_request), or a head in which every caller header is one line (nothing a
// value holds makes another field), that ends once, at its end. When the method and names are
// tokens and the values visible text, Beast's parser reads head and body as exactly one request
// with that method, target, the caller's fields (framing fields dropped) and the body.
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/string_body.hpp>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <string>
#include <vector>

#include "core/trim.h"
#include "fuzz_support.h"
#include "net/request_writer.h"

namespace {

namespace http = boost::beast::http;
namespace beast = boost::beast;

bool is_token(std::string_view s) {
  if (s.empty()) return false;
  for (char c : s) {
    if (bc::fuzz::kTokenChars.find(c) == std::string_view::npos) return false;
  }
  return true;
}

bool is_text(std::string_view s) {
  for (char c : s) {
    const auto b = static_cast<std::uint8_t>(c);
    if ((b < 0x20 && b != '\t') || b >= 0x7f) return false;
  }
  return true;
}

bool framing(std::string_view name) {
  return beast::iequals(name, "host") || beast::iequals(name, "content-length") ||
         beast::iequals(name, "transfer-encoding") || beast::iequals(name, "connection");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  bc::fuzz::Input in(data, size);
  bc::UpstreamRequest request;
  const std::uint8_t method = in.byte();
  static constexpr std::string_view kMethods[] = {"POST", "GET", "HEAD", "PUT", "PATCH", "DELETE"};
  request.method =
      method < 192 ? std::string(kMethods[method % 6]) : std::string(in.take(method % 12));
  for (int n = in.byte() % 8; n > 0; --n) {
    std::string name(in.take(in.byte() % 24));
    std::string value(in.take(in.byte() % 48));
    request.headers.push_back(bc::Header{std::move(name), std::move(value)});
  }
  request.stream = (in.byte() & 1) != 0;
  request.body = std::string(in.rest());
  const bc::net::RequestTarget where{"/v1/chat?x=1", "api.example.com:8443", "BalancedCall/0.1"};

  bc::net::OutgoingRequest out;
  const auto written = bc::net::write_request(request, where, out);
  if (!written) {
    if (written.error().code != "invalid_upstream_request") bc::fuzz::fail("another error");
    return 0;
  }
  if (out.body != request.body || out.stream != request.stream) bc::fuzz::fail("body or stream");

  // Every caller header is one line: count the lines the head has and should have.
  const std::string_view head = out.head;
  if (head.size() < 4 || head.substr(head.size() - 4) != "\r\n\r\n" ||
      head.find("\r\n\r\n") != head.size() - 4) {
    bc::fuzz::fail("the head does not end once, at its end");
  }
  std::size_t lines = 0;
  for (std::size_t at = 0; at + 2 < head.size();) {
    const std::size_t end = head.find("\r\n", at);
    const std::string_view line = head.substr(at, end - at);
    if (line.find_first_of("\r\n") != std::string_view::npos) bc::fuzz::fail("a bare CR or LF");
    ++lines;
    at = end + 2;
  }
  std::size_t kept = 0;
  bool has_user_agent = false;
  for (const auto& h : request.headers) {
    if (framing(h.name)) continue;
    ++kept;
    has_user_agent = has_user_agent || beast::iequals(h.name, "user-agent");
  }
  const bool sends_body = !request.body.empty() || request.method == "POST" ||
                          request.method == "PUT" || request.method == "PATCH";
  // request line, Host, the caller's, User-Agent, Connection, Content-Length
  const std::size_t expected_lines = 2 + kept + (has_user_agent ? 0 : 1) + 1 + (sends_body ? 1 : 0);
  if (lines != expected_lines) bc::fuzz::fail("a caller header did not make exactly one line");

  bool plain = is_token(request.method);
  for (const auto& h : request.headers) plain = plain && is_token(h.name) && is_text(h.value);
  if (!plain) return 0;
  http::request_parser<http::string_body> parser;
  parser.header_limit(std::numeric_limits<std::uint32_t>::max());
  parser.body_limit(boost::none);
  parser.eager(true);
  const std::string whole = out.head + std::string(out.body);
  boost::system::error_code ec;
  const std::size_t used = parser.put(boost::asio::buffer(whole), ec);
  if (ec && ec != http::error::need_more) bc::fuzz::fail("Beast refused the request");
  if (!parser.is_header_done()) bc::fuzz::fail("Beast did not read the head");
  if (!sends_body && !parser.is_done()) bc::fuzz::fail("a request without a body is not done");
  const auto& msg = parser.get();
  if (msg.method_string() != request.method || msg.target() != where.target) {
    bc::fuzz::fail("another method or target");
  }
  if (sends_body) {
    // The body follows the head; a parser reads what the length says.
    if (parser.content_length() != request.body.size()) bc::fuzz::fail("another length");
    if (!request.body.empty() && (!parser.is_done() || msg.body() != request.body)) {
      bc::fuzz::fail("another body");
    }
  }
  if (used != whole.size() && parser.is_done() && sends_body) bc::fuzz::fail("bytes left over");
  bc::fuzz::Fields sent;
  sent.emplace_back("Host", where.host_header);
  for (const auto& h : request.headers) {
    if (!framing(h.name)) sent.emplace_back(h.name, h.value);
  }
  if (!has_user_agent) sent.emplace_back("User-Agent", where.user_agent);
  sent.emplace_back("Connection", "keep-alive");
  if (sends_body) sent.emplace_back("Content-Length", std::to_string(request.body.size()));
  bc::fuzz::Fields read;
  for (const auto& field : msg) read.emplace_back(field.name_string(), field.value());
  if (!bc::fuzz::same_fields(sent, read)) bc::fuzz::fail("Beast read other fields than sent");
  return 0;
}
