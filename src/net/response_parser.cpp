// The upstream client's HTTP/1.1 response parser (see response_parser.h). Over 500 lines for
// one reason: the head, framing and chunk states are one parser's, cut apart they would share
// every member.
#include "net/response_parser.h"

#include <algorithm>
#include <array>
#include <cstring>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#include <boost/beast/http/error.hpp>

#include "core/trim.h"

namespace bc::net {

namespace {

using boost::system::error_code;
using http_error = boost::beast::http::error;

constexpr std::string_view kCrlf = "\r\n";
// A chunk-size line (size and extensions) longer than this is an error, not a wait.
constexpr std::size_t kMaxChunkLine = 4096;

// RFC 9110 tchar.
bool is_token_char(unsigned char c) {
  static constexpr auto kTable = [] {
    std::array<bool, 256> t{};
    for (int c = '0'; c <= '9'; ++c) t[c] = true;
    for (int c = 'a'; c <= 'z'; ++c) t[c] = true;
    for (int c = 'A'; c <= 'Z'; ++c) t[c] = true;
    for (char c : std::string_view("!#$%&'*+-.^_`|~")) t[static_cast<unsigned char>(c)] = true;
    return t;
  }();
  return kTable[c];
}

// Field values and reason phrases: visible characters, spaces, tabs and obs-text; no other
// control character (a CR or LF inside a line included).
constexpr auto kText = [] {
  std::array<bool, 256> t{};
  for (int c = 0; c < 256; ++c) t[c] = c == '\t' || (c >= 0x20 && c != 0x7f);
  return t;
}();

bool is_text(std::string_view s) {
  bool ok = true;
  for (char c : s) ok &= kText[static_cast<unsigned char>(c)];
  return ok;
}

// The field lines of a head, `lines` of them, each checked for its CRLF by the caller: every
// byte is text, or a CR or LF, and there are exactly as many CRs and LFs as lines (a bare CR
// or LF inside a line is one too many). Sixteen bytes at a time with SSE2: a head's fields are
// a few hundred bytes, and a byte at a time cost some 1,000 instructions per response.
bool are_text_lines(std::string_view block, std::size_t lines) {
  std::size_t cr = 0;
  std::size_t lf = 0;
  std::size_t i = 0;
  bool ok = true;
#if defined(__SSE2__)
  const __m128i zero = _mm_setzero_si128();
  const __m128i space = _mm_set1_epi8(0x20);
  const __m128i tab = _mm_set1_epi8('\t');
  const __m128i cr16 = _mm_set1_epi8('\r');
  const __m128i lf16 = _mm_set1_epi8('\n');
  const __m128i del = _mm_set1_epi8(0x7f);
  const __m128i one = _mm_set1_epi8(1);
  // CRs and LFs counted as byte sums (psadbw): x86-64's baseline has no popcnt instruction,
  // and std::popcount would be a libgcc call per block.
  __m128i cr_sum = zero;
  __m128i lf_sum = zero;
  for (; i + 16 <= block.size(); i += 16) {
    const __m128i b = _mm_loadu_si128(reinterpret_cast<const __m128i*>(block.data() + i));
    // Compared as signed bytes: obs-text (0x80 and up) is negative, not a control character.
    const __m128i control = _mm_andnot_si128(_mm_cmplt_epi8(b, zero), _mm_cmplt_epi8(b, space));
    const __m128i is_cr = _mm_cmpeq_epi8(b, cr16);
    const __m128i is_lf = _mm_cmpeq_epi8(b, lf16);
    const __m128i allowed = _mm_or_si128(_mm_cmpeq_epi8(b, tab), _mm_or_si128(is_cr, is_lf));
    const __m128i bad = _mm_or_si128(_mm_andnot_si128(allowed, control), _mm_cmpeq_epi8(b, del));
    ok &= _mm_movemask_epi8(bad) == 0;
    cr_sum = _mm_add_epi64(cr_sum, _mm_sad_epu8(_mm_and_si128(is_cr, one), zero));
    lf_sum = _mm_add_epi64(lf_sum, _mm_sad_epu8(_mm_and_si128(is_lf, one), zero));
  }
  const auto total = [](__m128i sums) {
    return static_cast<std::size_t>(_mm_cvtsi128_si64(sums)) +
           static_cast<std::size_t>(_mm_cvtsi128_si64(_mm_unpackhi_epi64(sums, sums)));
  };
  cr = total(cr_sum);
  lf = total(lf_sum);
#endif
  for (; i < block.size(); ++i) {
    const char c = block[i];
    cr += c == '\r';
    lf += c == '\n';
    ok &= c == '\r' || c == '\n' || kText[static_cast<unsigned char>(c)];
  }
  return ok && cr == lines && lf == lines;
}

bool iequals(std::string_view a, std::string_view lower) {
  if (a.size() != lower.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    char c = a[i];
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    if (c != lower[i]) return false;
  }
  return true;
}

// Calls `f` with each trimmed, non-empty element of a comma-separated list.
template <class F>
void for_each_element(std::string_view list, F&& f) {
  while (!list.empty()) {
    const auto comma = list.find(',');
    const auto element = trim(list.substr(0, comma));
    if (!element.empty()) f(element);
    if (comma == std::string_view::npos) break;
    list.remove_prefix(comma + 1);
  }
}

bool is_token(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) {
    return is_token_char(static_cast<unsigned char>(c));
  });
}

// A chunk's extensions after its size: *( BWS ";" BWS name [ BWS "=" BWS ( token /
// quoted-string ) ] ) (RFC 9112 7.1.1), as strictly as Beast read them.
bool valid_chunk_extensions(std::string_view s) {
  auto skip_ws = [&s] {
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  };
  auto token = [&s] {
    std::size_t n = 0;
    while (n < s.size() && is_token_char(static_cast<unsigned char>(s[n]))) ++n;
    s.remove_prefix(n);
    return n > 0;
  };
  for (;;) {
    // Whitespace leads only to a ';' (or, after a name, an '='): none may end the line.
    if (s.empty()) return true;
    skip_ws();
    if (s.empty() || s.front() != ';') return false;
    s.remove_prefix(1);
    skip_ws();
    if (!token()) return false;
    const auto after_name = s;
    skip_ws();
    if (s.empty() || s.front() != '=') {
      s = after_name;
      continue;
    }
    s.remove_prefix(1);
    skip_ws();
    if (s.empty()) return false;
    if (s.front() != '"') {
      if (!token()) return false;
      continue;
    }
    // quoted-string: qdtext or a quoted-pair, up to the closing quote
    s.remove_prefix(1);
    for (;;) {
      if (s.empty()) return false;
      const auto c = static_cast<unsigned char>(s.front());
      s.remove_prefix(1);
      if (c == '"') break;
      if (c == '\\') {
        if (s.empty()) return false;
        const auto q = static_cast<unsigned char>(s.front());
        if (q != '\t' && (q < 0x20 || q == 0x7f)) return false;
        s.remove_prefix(1);
      } else if (c != '\t' && (c < 0x20 || c == 0x7f)) {
        return false;
      }
    }
  }
}

// 1*DIGIT without overflow.
std::optional<std::uint64_t> parse_decimal(std::string_view s) {
  if (s.empty() || s.size() > 19) return std::nullopt;
  std::uint64_t v = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return std::nullopt;
    v = v * 10 + static_cast<std::uint64_t>(c - '0');
  }
  return v;
}

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

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
