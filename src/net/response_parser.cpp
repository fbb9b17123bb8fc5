// The upstream client's HTTP/1.1 response parser (see response_parser.h): the head, framing
// and chunk states; the byte classes and grammar pieces it checks against are http_syntax.h's.
#include "net/response_parser.h"

#include <algorithm>
#include <cstring>

#include <boost/beast/http/error.hpp>

#include "core/trim.h"
#include "net/http_syntax.h"

namespace bc::net {

using namespace http_syntax;

namespace {

using boost::system::error_code;
using http_error = boost::beast::http::error;

constexpr std::string_view kCrlf = "\r\n";
// A chunk-size line (size and extensions) longer than this is an error, not a wait.
constexpr std::size_t kMaxChunkLine = 4096;

}  // namespace

void ResponseParser::fail(error_code& ec, error_code why) {
  ec = why;
  failed_ = why;
}

std::size_t ResponseParser::put(boost::asio::const_buffer data, error_code& ec) {
  ec = {};
  if (failed_) {
    ec = failed_;
    return 0;
  }
  std::string_view in(static_cast<const char*>(data.data()), data.size());
  if (!in.empty()) got_some_ = true;
  if (state_ == State::kDone) return 0;  // what follows the message is not ours
  if (state_ == State::kHead) {
    // The head alone, as Beast's parser did: its caller decides when the body is read.
    const std::size_t used = parse_head(in, ec);
    if (!ec && used == 0) ec = http_error::need_more;
    return used;
  }
  const std::size_t used = parse_body(in, ec);
  if (!ec && used == 0 && state_ != State::kDone) ec = http_error::need_more;
  return used;
}

void ResponseParser::put_eof(error_code& ec) {
  ec = {};
  if (failed_) {
    ec = failed_;
    return;
  }
  if (state_ == State::kUntilEof) {
    state_ = State::kDone;
    return;
  }
  if (state_ == State::kDone) return;
  fail(ec, got_some_ ? http_error::partial_message : http_error::end_of_stream);
}

void ReceivedFields::assign_lines(std::string_view lines) {
  lines_.assign(lines);
  built_ = false;
}

void ReceivedFields::add(std::string_view name, std::string_view value) {
  lines_.append(name).append(": ").append(value).append(kCrlf);
  built_ = false;
}

const Headers& ReceivedFields::headers() const {
  if (built_) return headers_;
  headers_.clear();
  std::string_view rest = lines_;
  while (!rest.empty()) {
    const std::size_t eol = std::min(rest.find(kCrlf), rest.size());
    const std::string_view line = rest.substr(0, eol);
    rest.remove_prefix(std::min(eol + kCrlf.size(), rest.size()));
    const std::size_t colon = line.find(':');
    if (colon == std::string_view::npos) continue;  // never: every line was checked
    headers_.push_back(
        Header{std::string(line.substr(0, colon)), std::string(trim(line.substr(colon + 1)))});
  }
  built_ = true;
  return headers_;
}

Headers ReceivedFields::take() {
  (void)headers();
  Headers out = std::move(headers_);
  lines_.clear();
  headers_.clear();
  built_ = false;
  return out;
}

bool ResponseParser::keep_alive() const {
  if (connection_close_ || until_eof_) return false;
  return version_ >= 11 || connection_keep_alive_;
}

std::size_t ResponseParser::parse_head(std::string_view in, error_code& ec) {
  // Searched once: a head split over reads resumes where the last search stopped.
  const std::size_t from = head_scanned_ >= 3 ? head_scanned_ - 3 : 0;
  const std::size_t end = in.find("\r\n\r\n", from);
  if (end == std::string_view::npos) {
    head_scanned_ = in.size();
    if (in.size() > header_limit_) fail(ec, http_error::header_limit);
    return 0;
  }
  const std::size_t head_size = end + 4;
  if (head_size > header_limit_) {
    fail(ec, http_error::header_limit);
    return 0;
  }
  std::string_view head = in.substr(0, end + 2);  // every line with its CRLF
  std::size_t eol = head.find(kCrlf);
  if (!parse_status_line(head.substr(0, eol), ec)) return 0;
  head.remove_prefix(eol + 2);
  const std::string_view field_lines = head;
  std::size_t lines = 0;
  while (!head.empty()) {
    eol = head.find(kCrlf);
    if (!parse_field(head.substr(0, eol), ec)) return 0;
    head.remove_prefix(eol + 2);
    ++lines;
  }
  // The values' characters, all fields at once (parse_field checked the names).
  if (!are_text_lines(field_lines, lines)) {
    fail(ec, http_error::bad_value);
    return 0;
  }
  // Both framings at once is how request smuggling starts (RFC 9112 6.1): refused, as Beast
  // refused it.
  if (has_transfer_encoding_ && content_length_) {
    fail(ec, http_error::bad_content_length);
    return 0;
  }
  fields_.assign_lines(field_lines);
  frame_body();
  return head_size;
}

bool ResponseParser::parse_status_line(std::string_view line, error_code& ec) {
  // HTTP/1.x SP 3DIGIT SP reason (the reason may be empty, its space may not be missing)
  if (line.size() < 12 || line.substr(0, 7) != "HTTP/1." || (line[7] != '0' && line[7] != '1')) {
    fail(ec, http_error::bad_version);
    return false;
  }
  version_ = line[7] == '1' ? 11 : 10;
  const auto digit = [](char c) { return c >= '0' && c <= '9'; };
  if (line[8] != ' ' || !digit(line[9]) || !digit(line[10]) || !digit(line[11]) || line[9] == '0') {
    fail(ec, http_error::bad_status);
    return false;
  }
  status_ = (line[9] - '0') * 100 + (line[10] - '0') * 10 + (line[11] - '0');
  const auto rest = line.substr(12);
  if (rest.empty() || rest.front() != ' ' || !is_text(rest)) {
    fail(ec, http_error::bad_reason);
    return false;
  }
  return true;
}

bool ResponseParser::parse_field(std::string_view line, error_code& ec) {
  std::size_t colon = 0;
  while (colon < line.size() && is_token_char(static_cast<unsigned char>(line[colon]))) ++colon;
  // No name, a space before the colon, obs-fold (a line that starts with a space): errors.
  if (colon == 0 || colon == line.size() || line[colon] != ':') {
    fail(ec, http_error::bad_field);
    return false;
  }
  const auto name = line.substr(0, colon);
  const auto value = trim(line.substr(colon + 1));  // its characters: are_text_lines()
  // The fields that frame the body or end the connection: checked by length first, so the
  // others cost a compare or two.
  if (name.size() == 14 && iequals(name, "content-length")) {
    // One number, or a list of the same number (a joined repeat); an empty element is an
    // error, as in Beast.
    bool bad = false;
    std::string_view list = value;
    for (;;) {
      const auto comma = list.find(',');
      const auto n = parse_decimal(trim(list.substr(0, comma)));
      if (!n || (content_length_ && *content_length_ != *n)) bad = true;
      if (n && !bad) content_length_ = n;
      if (bad || comma == std::string_view::npos) break;
      list.remove_prefix(comma + 1);
    }
    if (bad) {
      fail(ec, http_error::bad_content_length);
      return false;
    }
  } else if (name.size() == 17 && iequals(name, "transfer-encoding")) {
    has_transfer_encoding_ = true;
    bool bad = false;
    for_each_element(value, [&](std::string_view coding) {
      if (chunked_ || !is_token(coding)) bad = true;  // chunked must be the last coding
      chunked_ = iequals(coding, "chunked");
    });
    if (bad) {
      fail(ec, http_error::bad_transfer_encoding);
      return false;
    }
  } else if (name.size() == 10 && iequals(name, "connection")) {
    bool bad = false;
    for_each_element(value, [&](std::string_view option) {
      if (!is_token(option)) bad = true;
      if (iequals(option, "close")) connection_close_ = true;
      if (iequals(option, "keep-alive")) connection_keep_alive_ = true;
    });
    if (bad) {
      fail(ec, http_error::bad_value);
      return false;
    }
  }
  return true;
}

bool ResponseParser::parse_trailer(std::string_view line, error_code& ec) {
  const auto colon = line.find(':');
  const auto name = line.substr(0, std::min(colon, line.size()));
  // Framing and connection fields have no place after the body (RFC 9110 6.5.1); Beast's
  // parser applied them, which could re-frame an answer already read.
  if (colon == std::string_view::npos || !is_token(name) || iequals(name, "content-length") ||
      iequals(name, "transfer-encoding") || iequals(name, "connection")) {
    fail(ec, http_error::bad_field);
    return false;
  }
  // The raw value is checked, not the trimmed one: trim() also takes CRs off the ends, and a
  // bare CR in a field is refused (as Beast does), wherever it stands.
  const auto raw = line.substr(colon + 1);
  if (!is_text(raw)) {
    fail(ec, http_error::bad_value);
    return false;
  }
  fields_.add(name, trim(raw));
  return true;
}

void ResponseParser::frame_body() {
  // RFC 9112 6.3, in its order.
  if (no_body_ || status_ < 200 || status_ == 204 || status_ == 304) {
    state_ = State::kDone;
  } else if (has_transfer_encoding_) {
    state_ = chunked_ ? State::kChunkSize : State::kUntilEof;
  } else if (content_length_) {
    remaining_ = *content_length_;
    state_ = remaining_ == 0 ? State::kDone : State::kLength;
  } else {
    state_ = State::kUntilEof;
  }
  until_eof_ = state_ == State::kUntilEof;
}

std::size_t ResponseParser::parse_body(std::string_view in, error_code& ec) {
  const std::size_t size = in.size();
  while (!in.empty() && state_ != State::kDone) {
    switch (state_) {
      case State::kLength:
      case State::kChunkData: {
        const auto take = static_cast<std::size_t>(std::min<std::uint64_t>(remaining_, in.size()));
        body_.append(in.data(), take);
        in.remove_prefix(take);
        remaining_ -= take;
        if (remaining_ == 0) state_ = state_ == State::kLength ? State::kDone : State::kChunkEnd;
        break;
      }
      case State::kUntilEof:
        body_.append(in.data(), in.size());
        in = {};
        break;
      case State::kChunkEnd:
        if (in[0] != '\r' || (in.size() > 1 && in[1] != '\n')) {
          fail(ec, http_error::bad_chunk);
          return size - in.size();
        }
        if (in.size() < 2) return size - in.size();
        in.remove_prefix(2);
        state_ = State::kChunkSize;
        break;
      case State::kChunkSize: {
        const auto eol = in.find(kCrlf);
        if (eol == std::string_view::npos) {
          if (in.size() > kMaxChunkLine) fail(ec, http_error::bad_chunk);
          return size - in.size();
        }
        const auto line = in.substr(0, eol);
        std::size_t i = 0;
        std::uint64_t chunk = 0;
        for (; i < line.size() && hex_value(line[i]) >= 0; ++i) {
          if (i >= 15) {  // 2^60 bytes is no chunk
            fail(ec, http_error::bad_chunk);
            return size - in.size();
          }
          chunk = chunk * 16 + static_cast<std::uint64_t>(hex_value(line[i]));
        }
        if (i == 0 || !valid_chunk_extensions(line.substr(i))) {
          fail(ec, i == 0 ? http_error::bad_chunk : http_error::bad_chunk_extension);
          return size - in.size();
        }
        in.remove_prefix(eol + 2);
        remaining_ = chunk;
        state_ = chunk == 0 ? State::kTrailer : State::kChunkData;
        break;
      }
      case State::kTrailer: {
        const auto eol = in.find(kCrlf);
        if (eol == std::string_view::npos) {
          if (trailer_bytes_ + in.size() > header_limit_) fail(ec, http_error::header_limit);
          return size - in.size();
        }
        const auto line = in.substr(0, eol);
        trailer_bytes_ += eol + 2;
        if (trailer_bytes_ > header_limit_) {
          fail(ec, http_error::header_limit);
          return size - in.size();
        }
        // A trailer field is read like a head field and joins the fields (as Beast's did).
        if (!line.empty() && !parse_trailer(line, ec)) return size - in.size();
        in.remove_prefix(eol + 2);
        if (line.empty()) state_ = State::kDone;
        break;
      }
      case State::kHead:
      case State::kDone:
        break;
    }
  }
  return size - in.size();
}

}  // namespace bc::net
