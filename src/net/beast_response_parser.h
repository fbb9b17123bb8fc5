// The upstream response parser the client used before ResponseParser: Beast's basic_parser
// with the head kept as plain strings and the body appended into one string. Kept as the
// reference that fuzz_response_parser and the unit tests hold ResponseParser to.
#pragma once

#include <cstdint>
#include <string>

#include <boost/beast/http/basic_parser.hpp>

#include "core/http.h"
#include "net/response_parser.h"

namespace bc::net {

class BeastResponseParser final : public boost::beast::http::basic_parser<false>,
                                  public ParsedResponse {
 public:
  using error_code = boost::system::error_code;
  using string_view = boost::beast::string_view;

 private:
  void on_request_impl(boost::beast::http::verb, string_view, string_view, int,
                       error_code&) override {}
  void on_response_impl(int code, string_view, int, error_code&) override {
    ParsedResponse::status_ = code;
  }
  void on_field_impl(boost::beast::http::field, string_view name, string_view value,
                     error_code&) override {
    fields_.add(name, value);
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
};

}  // namespace bc::net
