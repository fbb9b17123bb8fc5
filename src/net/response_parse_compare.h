// Runs ResponseParser and Beast's parser (beast_response_parser.h, the client's parser
// before) over the same bytes cut into the same pieces, the way the client feeds them: bytes
// accumulate in a buffer, put() is called until it needs more, what it used is consumed, and
// the end of the input is the connection's close. Shared by the unit tests and
// fuzz_http_response, which hold ResponseParser to Beast's answers.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <boost/asio/buffer.hpp>
#include <boost/beast/http/error.hpp>

#include "core/http.h"
#include "net/beast_response_parser.h"
#include "net/response_parser.h"

namespace bc::net::testing {

struct ParseOutcome {
  bool ok = false;  // the message ended without an error
  std::string error;
  int status = 0;
  Headers headers;
  std::string body;
  bool keep_alive = false;
  std::size_t used = 0;  // bytes of the input the message took
  bool operator==(const ParseOutcome&) const = default;
};

template <class Parser>
ParseOutcome parse_pieces(const std::vector<std::string_view>& pieces, bool head_request,
                          std::uint32_t header_limit) {
  namespace http = boost::beast::http;
  ParseOutcome out;
  Parser parser;
  parser.header_limit(header_limit);
  if (head_request) parser.skip(true);
  if constexpr (std::is_same_v<Parser, BeastResponseParser>) parser.body_limit(boost::none);
  std::string buffer;
  boost::system::error_code ec;
  auto drain = [&] {
    while (!buffer.empty() && !parser.is_done()) {
      const std::size_t used = parser.put(boost::asio::buffer(buffer), ec);
      buffer.erase(0, used);
      out.used += used;
      if (ec == http::error::need_more) {
        ec = {};
        return;
      }
      if (ec || used == 0) return;
    }
  };
  for (auto piece : pieces) {
    if (parser.is_done()) break;
    buffer.append(piece);
    drain();
    if (ec) break;
  }
  if (!ec && !parser.is_done()) {
    // The connection closes: Beast's reader gives end_of_stream before any byte, else put_eof.
    if (!parser.got_some()) {
      ec = http::error::end_of_stream;
    } else {
      parser.put_eof(ec);
    }
  }
  out.ok = !ec && parser.is_done();
  if (ec) out.error = ec.message();
  if (parser.is_header_done()) {
    out.status = parser.status();
    out.headers = parser.headers();
    out.keep_alive = out.ok && parser.keep_alive();
  }
  out.body = parser.take_body();
  return out;
}

}  // namespace bc::net::testing
