// The HTTP/1.1 response parser of the upstream client: the head as plain strings, the body
// appended straight into one string that the caller takes piece by piece. Pure, no I/O.
//
// Why not Beast's basic_parser (which the client used before; beast_response_parser.h keeps
// that version as the fuzzers' reference): it spent some 850 instructions on each header
// field (a generic field scan, a hash of the name into Beast's field table, token-list
// parsing of Connection), 6,600 of the 61,000 instructions of a proxied request. Here a field
// is a memchr for its end, a scan of its name and a look at the three names that frame the
// body. Stricter than Beast where that costs nothing: a bare LF, obs-fold or a space before a
// field's colon are errors (an upstream that sends them is broken, and its answer is retried
// elsewhere).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include <boost/asio/buffer.hpp>
#include <boost/system/error_code.hpp>

#include "core/http.h"

namespace bc::net {

// The fields of a response as received: their "name: value" lines, already checked, in one
// string, and the Headers built from them the first time they are asked for. Why: an answer
// that succeeds never is (only the classification of a failed one reads them), and keeping
// ~8 fields as 16 strings cost some 2,000 instructions per response.
class ReceivedFields {
 public:
  // Lines of the form name ":" OWS value OWS CRLF, each checked by the parser.
  void assign_lines(std::string_view lines);
  // One more field (a trailer), value without surrounding whitespace or line breaks.
  void add(std::string_view name, std::string_view value);
  // In the order received (names as sent), trailer fields last.
  const Headers& headers() const;
  Headers take();

 private:
  std::string lines_;
  mutable Headers headers_;
  mutable bool built_ = false;
};

// What a response parser hands out: the status, the fields and the body taken piece by piece.
// Shared with the Beast-based reference parser (beast_response_parser.h).
class ParsedResponse {
 public:
  int status() const { return status_; }
  // The response's fields, trailer fields last.
  const Headers& headers() const { return fields_.headers(); }
  ReceivedFields& fields() { return fields_; }
  // Body bytes parsed since the last take_body(), chunk framing removed.
  std::string take_body() {
    std::string out = std::move(body_);
    body_.clear();  // a moved-from string is valid but unspecified
    return out;
  }
  bool has_body() const { return !body_.empty(); }
  std::size_t body_bytes() const { return body_.size(); }

 protected:
  int status_ = 0;
  ReceivedFields fields_;
  std::string body_;
};

class ResponseParser : public ParsedResponse {
 public:
  using error_code = boost::system::error_code;

  // At most this many bytes of head (status line, fields, blank line); more is
  // http::error::header_limit.
  void header_limit(std::uint32_t bytes) { header_limit_ = bytes; }
  // A response to HEAD: no body, whatever the head declares.
  void skip(bool no_body) { no_body_ = no_body; }

  // Parses from `data` what it can: the head once it is whole (and nothing after it in the
  // same call), later body bytes. Returns the bytes used; the rest (an incomplete head or
  // line, or bytes after the end of the message) stays with the caller. `ec` is
  // http::error::need_more when nothing could be used and the message is not done, another
  // http::error on malformed input (the parser is then done with it).
  std::size_t put(boost::asio::const_buffer data, error_code& ec);
  // The connection ended: ends a body that runs until the close, else
  // http::error::partial_message (or end_of_stream when nothing came at all).
  void put_eof(error_code& ec);

  bool got_some() const { return got_some_; }
  bool is_header_done() const { return state_ > State::kHead; }
  bool is_done() const { return state_ == State::kDone; }
  // The body runs until the connection closes.
  bool need_eof() const { return state_ == State::kUntilEof; }
  bool chunked() const { return chunked_; }
  // Whether the connection may carry another exchange after this one.
  bool keep_alive() const;
  std::optional<std::uint64_t> content_length() const { return content_length_; }

 private:
  enum class State {
    kHead,       // waiting for the whole head
    kLength,     // a Content-Length body: `remaining_` bytes to go
    kChunkSize,  // a chunk-size line
    kChunkData,  // `remaining_` bytes of chunk data
    kChunkEnd,   // the CRLF after chunk data
    kTrailer,    // trailer lines after the last chunk, up to a blank line
    kUntilEof,   // a body that ends with the connection
    kDone,
  };

  // Each returns the bytes used from `in`; 0 with no error means "needs more".
  std::size_t parse_head(std::string_view in, error_code& ec);
  bool parse_status_line(std::string_view line, error_code& ec);
  bool parse_field(std::string_view line, error_code& ec);
  bool parse_trailer(std::string_view line, error_code& ec);
  void frame_body();
  std::size_t parse_body(std::string_view in, error_code& ec);
  void fail(error_code& ec, error_code why);

  State state_ = State::kHead;
  std::uint32_t header_limit_ = 8192;
  bool no_body_ = false;
  bool got_some_ = false;
  std::size_t head_scanned_ = 0;  // bytes of an incomplete head already searched for its end
  std::size_t trailer_bytes_ = 0;
  error_code failed_;  // set once input was malformed: every later put() repeats it

  int version_ = 11;  // 10 or 11
  std::optional<std::uint64_t> content_length_;
  bool has_transfer_encoding_ = false;
  bool chunked_ = false;
  bool connection_close_ = false;
  bool connection_keep_alive_ = false;
  bool until_eof_ = false;  // the body was delimited by the connection's close
  std::uint64_t remaining_ = 0;
};

}  // namespace bc::net
