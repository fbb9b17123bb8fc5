// The server's response head, written by hand (see response_head.h).
#include "net/response_head.h"

#include <charconv>
#include <ostream>  // Beast's status.ipp, compiled in here by the header-only fuzz build

#include <boost/beast/http/status.hpp>

namespace bc::net {

using namespace std::string_view_literals;
namespace http = boost::beast::http;

// Written straight into the text: a Beast message allocated every field, re-read Connection to
// set keep-alive and was then walked to print it, and Beast's serializer walks a chain of buffer
// views on every write.
void append_head(std::string& out, unsigned version, int status, std::string_view content_type,
                 const Headers& extra, bool keep_alive, Framing framing, std::size_t length) {
  out.reserve(out.size() + 256);
  out += version >= 11 ? "HTTP/1.1 "sv : "HTTP/1.0 "sv;
  char number[24];
  auto r = std::to_chars(number, number + sizeof number, status);
  out.append(number, r.ptr);
  out += ' ';
  const auto reason = http::obsolete_reason(static_cast<http::status>(status));
  out.append(reason.data(), reason.size());
  out += "\r\nServer: balancedcall\r\n"sv;
  auto field = [&out](std::string_view name, std::string_view value) {
    out.append(name.data(), name.size());
    out += ": "sv;
    out.append(value.data(), value.size());
    out += "\r\n"sv;
  };
  if (!content_type.empty()) field("Content-Type", content_type);
  for (const auto& h : extra) field(h.name, h.value);
  // HTTP/1.1 keeps a connection unless told; HTTP/1.0 closes it unless told.
  if (version >= 11 && !keep_alive) field("Connection", "close");
  if (version < 11 && keep_alive) field("Connection", "keep-alive");
  if (framing == Framing::kLength) {
    r = std::to_chars(number, number + sizeof number, length);
    field("Content-Length", std::string_view(number, static_cast<std::size_t>(r.ptr - number)));
  } else if (framing == Framing::kChunked) {
    field("Transfer-Encoding", "chunked");
  }
  out += "\r\n"sv;
}

}  // namespace bc::net
