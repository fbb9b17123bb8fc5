// net/response_head.h: every head append_head() writes, for fields within its contract (names
// are tokens, values visible text without line breaks, framing fields its own), parses with
// Beast's parser as exactly one response head, ending where the text ends, with the status,
// version, fields in order, keep-alive and framing it was asked for.
#include <boost/beast/http/empty_body.hpp>
#include <boost/beast/http/parser.hpp>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <string>
#include <vector>

#include "core/trim.h"
#include "fuzz_support.h"
#include "net/response_head.h"

namespace {

namespace http = boost::beast::http;
using bc::Header;
using bc::Headers;

std::string token(std::string_view raw) {
  std::string out;
  for (char c : raw)
    out += bc::fuzz::kTokenChars[static_cast<std::uint8_t>(c) % bc::fuzz::kTokenChars.size()];
  return out.empty() ? std::string("X") : out;
}

// Visible ASCII, with a space or a tab where the byte says so.
std::string text(std::string_view raw) {
  std::string out;
  for (char c : raw) {
    const auto b = static_cast<std::uint8_t>(c);
    out += b == 0 ? ' ' : b == 1 ? '\t' : static_cast<char>(0x21 + b % 94);
  }
  return out;
}

bool ours(std::string_view name) {
  return boost::beast::iequals(name, "connection") ||
         boost::beast::iequals(name, "content-length") ||
         boost::beast::iequals(name, "transfer-encoding");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  bc::fuzz::Input in(data, size);
  const std::uint8_t flags = in.byte();
  const unsigned version = (flags & 1) != 0 ? 11 : 10;
  const bool keep_alive = (flags & 2) != 0;
  const int status = 100 + (in.byte() << 8 | in.byte()) % 500;
  auto framing = static_cast<bc::net::Framing>(in.byte() % 3);
  // send() frames 1xx, 204 and 304 answers with neither a length nor chunks.
  if (status < 200 || status == 204 || status == 304) framing = bc::net::Framing::kNone;
  std::uint64_t length = 0;
  for (int i = 0; i < 8; ++i) length = length << 8 | in.byte();
  const std::string content_type = text(in.take(in.byte() % 40));
  Headers extra;
  for (int n = in.byte() % 6; n > 0; --n) {
    Header h{token(in.take(1 + in.byte() % 20)), text(in.take(in.byte() % 40))};
    if (!ours(h.name)) extra.push_back(std::move(h));
  }

  std::string head = "prefix";
  bc::net::append_head(head, version, status, content_type, extra, keep_alive, framing,
                       static_cast<std::size_t>(length));
  const std::string_view written = std::string_view(head).substr(6);

  http::response_parser<http::empty_body> parser;
  parser.header_limit(std::numeric_limits<std::uint32_t>::max());
  parser.body_limit(boost::none);
  boost::system::error_code ec;
  const std::size_t used = parser.put(boost::asio::buffer(written.data(), written.size()), ec);
  if (ec && ec != http::error::need_more) bc::fuzz::fail("Beast refused the head");
  if (!parser.is_header_done() || used != written.size()) {
    bc::fuzz::fail("the head does not end where the text ends");
  }
  const auto& msg = parser.get();
  if (msg.result_int() != static_cast<unsigned>(status)) bc::fuzz::fail("another status");
  if (msg.version() != version) bc::fuzz::fail("another version");
  if (msg.keep_alive() != keep_alive) bc::fuzz::fail("another keep-alive");
  if (parser.chunked() != (framing == bc::net::Framing::kChunked)) bc::fuzz::fail("chunked");
  const auto declared = parser.content_length();
  if ((framing == bc::net::Framing::kLength) != declared.has_value() ||
      (declared && *declared != length)) {
    bc::fuzz::fail("another Content-Length");
  }
  bc::fuzz::Fields expected;
  expected.emplace_back("Server", "balancedcall");
  if (!content_type.empty()) expected.emplace_back("Content-Type", content_type);
  for (const auto& h : extra) expected.emplace_back(h.name, h.value);
  if (version >= 11 && !keep_alive) expected.emplace_back("Connection", "close");
  if (version < 11 && keep_alive) expected.emplace_back("Connection", "keep-alive");
  if (framing == bc::net::Framing::kLength) {
    expected.emplace_back("Content-Length", std::to_string(length));
  } else if (framing == bc::net::Framing::kChunked) {
    expected.emplace_back("Transfer-Encoding", "chunked");
  }
  bc::fuzz::Fields read;
  for (const auto& field : msg) read.emplace_back(field.name_string(), field.value());
  if (!bc::fuzz::same_fields(expected, read)) bc::fuzz::fail("the fields differ from those asked");
  return 0;
}
