// An HTTP/1.1 response parser for the upstream client: the head as plain strings, the body
// appended straight into one string that the caller takes piece by piece.
//
// Why not Beast's response_parser<buffer_body>: that one copies body bytes from the read
// buffer into a separate piece buffer, which the client then copied again into the string it
// hands out; and the piece buffer (16 KiB) stayed allocated for the life of every open
// stream. Here the read buffer is the only buffer a call holds, and each body byte is copied
// once, into the string that leaves.
#pragma once

#include <cstdint>
#include <string>

#include <boost/beast/http/basic_parser.hpp>

#include "core/http.h"

namespace bc::net {

class ResponseParser final : public boost::beast::http::basic_parser<false> {
 public:
  using error_code = boost::system::error_code;
  using string_view = boost::beast::string_view;

  int status() const { return status_; }
  // The response's fields in the order received (names as sent).
  Headers& headers() { return headers_; }
  // Body bytes parsed since the last take_body(), chunk framing removed.
  std::string take_body() {
    std::string out = std::move(body_);
    body_.clear();  // a moved-from string is valid but unspecified
    return out;
  }
  bool has_body() const { return !body_.empty(); }
  std::size_t body_bytes() const { return body_.size(); }

 private:
  void on_request_impl(boost::beast::http::verb, string_view, string_view, int,
                       error_code&) override {}
  void on_response_impl(int code, string_view, int, error_code&) override { status_ = code; }
  void on_field_impl(boost::beast::http::field, string_view name, string_view value,
                     error_code&) override {
    // A response head has some 5-15 fields: room for 8 at once instead of 1, 2, 4, 8.
    if (headers_.empty()) headers_.reserve(8);
    headers_.push_back(Header{std::string(name), std::string(value)});
  }
  void on_header_impl(error_code&) override {}
  void on_body_init_impl(const boost::optional<std::uint64_t>&, error_code&) override {}
  std::size_t on_body_impl(string_view body, error_code&) override {
    body_.append(body.data(), body.size());
    return body.size();
  }
  void on_chunk_header_impl(std::uint64_t, string_view, error_code&) override {}
  std::size_t on_chunk_body_impl(std::uint64_t, string_view body, error_code&) override {
    body_.append(body.data(), body.size());
    return body.size();
  }
  void on_finish_impl(error_code&) override {}

  int status_ = 0;
  Headers headers_;
  std::string body_;
};

}  // namespace bc::net
