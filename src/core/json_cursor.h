// A forward-only cursor over JSON text for the hand-written scanners (a chat request's top
// level, a stream chunk, a non-streamed answer): the steps each of them takes, validating
// exactly as Boost.JSON does for what they accept and answering "not sure" (false) for what
// they leave to Boost.JSON: control characters in strings, numbers they would have to
// convert, huge exponents, nesting deeper than kMaxDepth, malformed text, and `\u` escapes
// unless the scanner reads them (unicode_escapes_).
//
// Why a class of its own: the scanners differ only in which members they read; a second copy
// of string, number and skip steps would drift from the first, and the fuzz targets that hold
// each scanner to Boost.JSON's answers cover these steps once for all of them.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>

#include "core/json_plain_run.h"

namespace bc {

class JsonCursor {
 public:
  explicit JsonCursor(std::string_view text)
      : begin_(text.data()), p_(text.data()), end_(text.data() + text.size()) {}

 protected:
  // Below Boost.JSON's own limit (32), so that nothing deeper than it accepts is accepted.
  static constexpr int kMaxDepth = 12;

  bool at_end() const { return p_ == end_; }
  bool at(char c) const { return p_ != end_ && *p_ == c; }
  std::size_t offset() const { return static_cast<std::size_t>(p_ - begin_); }

  void skip_space() {
    // Machine-written JSON rarely has spaces: one compare decides the usual case.
    if (p_ == end_ || static_cast<unsigned char>(*p_) > ' ') return;
    while (p_ != end_ && (*p_ == ' ' || *p_ == '\t' || *p_ == '\n' || *p_ == '\r')) ++p_;
  }

  bool literal(std::string_view word) {
    if (static_cast<std::size_t>(end_ - p_) < word.size() ||
        std::string_view(p_, word.size()) != word) {
      return false;
    }
    p_ += word.size();
    return true;
  }

  // A string after its opening quote, decoded into `out` when it is not null. Valid UTF-8 is
  // taken as is; control characters are left to Boost.JSON, and so is `\uXXXX` unless
  // unicode_escapes_.
  bool string(std::string* out) {
    for (;;) {
      const char* run = p_;
      p_ = json_plain_run_end(p_, end_);
      if (out != nullptr) out->append(run, p_);
      if (p_ == end_) return false;
      const auto c = static_cast<unsigned char>(*p_);
      if (c == '"') {
        ++p_;
        return true;
      }
      if (c == '\\') {
        if (end_ - p_ < 2) return false;
        const char decoded = kUnescaped[static_cast<unsigned char>(p_[1])];
        if (decoded == 0) {
          if (p_[1] == 'u' && unicode_escapes_ && unicode_escape(out)) continue;
          return false;  // `\u` left to Boost.JSON, and invalid escapes
        }
        if (out != nullptr) out->push_back(decoded);
        p_ += 2;
        continue;
      }
      if (c < 0x80) return false;  // a control character
      const int length = utf8_sequence();
      if (length == 0) return false;
      if (out != nullptr) out->append(p_, p_ + length);
      p_ += length;
    }
  }

  // A string after its opening quote as a view: of the input when it holds nothing to
  // decode (keys, most values), else of `scratch`.
  bool string_view_of(std::string_view& out, std::string& scratch) {
    const char* start = p_;
    p_ = json_plain_run_end(p_, end_);
    if (p_ != end_ && *p_ == '"') {
      out = std::string_view(start, static_cast<std::size_t>(p_ - start));
      ++p_;
      return true;
    }
    p_ = start;
    scratch.clear();
    if (!string(&scratch)) return false;
    out = scratch;
    return true;
  }

  // A JSON number; its value only when `value` is not null, and then only a plain
  // non-negative integer below 10^15 (a token count), which converts exactly.
  bool number(std::int64_t* value) {
    const char* start = p_;
    if (p_ != end_ && *p_ == '-') ++p_;
    if (p_ == end_) return false;
    if (*p_ == '0') {
      ++p_;
    } else if (*p_ >= '1' && *p_ <= '9') {
      while (p_ != end_ && *p_ >= '0' && *p_ <= '9') ++p_;
    } else {
      return false;
    }
    const char* integer_end = p_;
    // A number this long may be beyond a double; the tree refuses it with a clear error.
    if (integer_end - start > 300) return false;
    if (p_ != end_ && *p_ == '.') {
      ++p_;
      if (p_ == end_ || *p_ < '0' || *p_ > '9') return false;
      while (p_ != end_ && *p_ >= '0' && *p_ <= '9') ++p_;
    }
    if (p_ != end_ && (*p_ == 'e' || *p_ == 'E')) {
      ++p_;
      if (p_ != end_ && (*p_ == '+' || *p_ == '-')) ++p_;
      const char* digits = p_;
      if (p_ == end_ || *p_ < '0' || *p_ > '9') return false;
      while (p_ != end_ && *p_ >= '0' && *p_ <= '9') ++p_;
      // Boost.JSON refuses some huge exponents, and turns others into infinity, which the
      // tree refuses: an exponent of three digits is the tree's to read.
      if (p_ - digits > 2) return false;
    }
    if (value == nullptr) return true;
    if (*start == '-' || p_ != integer_end || integer_end - start > 15) return false;
    std::int64_t n = 0;
    for (const char* d = start; d != integer_end; ++d) n = n * 10 + (*d - '0');
    *value = n;
    return true;
  }

  // After an element or a member: past the comma (another follows) or past `close` (the
  // container ended, `closed` set); false on anything else.
  bool next_or_close(char close, bool& closed) {
    skip_space();
    if (p_ == end_) return false;
    closed = *p_ == close;
    if (!closed && *p_ != ',') return false;
    ++p_;
    return true;
  }

  // Past the ':' after a key and the space around it; false at the end or on anything else.
  bool colon() {
    skip_space();
    if (p_ == end_ || *p_ != ':') return false;
    ++p_;
    skip_space();
    return p_ != end_;
  }

  // Any value at `depth` (p_ at its first byte), skipped: validated, nothing read.
  bool skip_value(int depth) {
    if (p_ == end_) return false;
    switch (*p_) {
      case '{':
        return skip_object(depth + 1);
      case '[':
        return skip_array(depth + 1);
      case '"':
        ++p_;
        return string(nullptr);
      case 't':
        return literal("true");
      case 'f':
        return literal("false");
      case 'n':
        return literal("null");
      default:
        return number(nullptr);
    }
  }

  // An array after p_ points at '[', at `depth`: `element()` reads each element (p_ at its
  // first byte) and says whether it was valid.
  template <typename Element>
  bool array_of(int depth, Element element) {
    if (depth > kMaxDepth) return false;
    ++p_;
    skip_space();
    if (p_ != end_ && *p_ == ']') {
      ++p_;
      return true;
    }
    for (;;) {
      skip_space();
      bool closed = false;
      if (!element() || !next_or_close(']', closed)) return false;
      if (closed) return true;
    }
  }

  // An array after p_ points at '[', its elements skipped.
  bool skip_array(int depth) {
    return array_of(depth, [this, depth] { return skip_value(depth); });
  }

  // An object after p_ points at '{', its members skipped.
  bool skip_object(int depth) {
    if (depth > kMaxDepth) return false;
    ++p_;
    skip_space();
    if (p_ != end_ && *p_ == '}') {
      ++p_;
      return true;
    }
    for (;;) {
      skip_space();
      if (p_ == end_ || *p_ != '"') return false;
      ++p_;
      bool closed = false;
      if (!string(nullptr) || !colon() || !skip_value(depth) || !next_or_close('}', closed)) {
        return false;
      }
      if (closed) return true;
    }
  }

  const char* begin_;
  const char* p_;
  const char* end_;
  // Whether string() reads `\uXXXX` escapes itself. The stream chunk scan does (some
  // upstreams escape every non-ASCII character); the request scan leaves them to the tree.
  bool unicode_escapes_ = false;

 private:
  // The `\uXXXX` escape at p_ (or a surrogate pair of two), appended to `out` as UTF-8 and
  // passed; false for anything Boost.JSON would refuse (a lone surrogate, bad hex digits).
  bool unicode_escape(std::string* out) {
    std::uint32_t code = 0;
    if (!hex4(p_ + 2, code)) return false;
    int length = 6;
    if (code >= 0xDC00 && code <= 0xDFFF) return false;  // a low surrogate first
    if (code >= 0xD800 && code <= 0xDBFF) {
      std::uint32_t low = 0;
      if (end_ - p_ < 12 || p_[6] != '\\' || p_[7] != 'u' || !hex4(p_ + 8, low) || low < 0xDC00 ||
          low > 0xDFFF) {
        return false;
      }
      code = 0x10000 + ((code - 0xD800) << 10) + (low - 0xDC00);
      length = 12;
    }
    if (out != nullptr) append_utf8(code, *out);
    p_ += length;
    return true;
  }

  // The four hex digits at `at` (inside the text) as a number.
  bool hex4(const char* at, std::uint32_t& code) const {
    if (end_ - at < 4) return false;
    for (int i = 0; i < 4; ++i) {
      const char c = at[i];
      std::uint32_t digit = 0;
      if (c >= '0' && c <= '9') {
        digit = static_cast<std::uint32_t>(c - '0');
      } else if (c >= 'a' && c <= 'f') {
        digit = static_cast<std::uint32_t>(c - 'a' + 10);
      } else if (c >= 'A' && c <= 'F') {
        digit = static_cast<std::uint32_t>(c - 'A' + 10);
      } else {
        return false;
      }
      code = code * 16 + digit;
    }
    return true;
  }

  static void append_utf8(std::uint32_t code, std::string& out) {
    if (code < 0x80) {
      out.push_back(static_cast<char>(code));
    } else if (code < 0x800) {
      out.push_back(static_cast<char>(0xC0 | (code >> 6)));
      out.push_back(static_cast<char>(0x80 | (code & 0x3F)));
    } else if (code < 0x10000) {
      out.push_back(static_cast<char>(0xE0 | (code >> 12)));
      out.push_back(static_cast<char>(0x80 | ((code >> 6) & 0x3F)));
      out.push_back(static_cast<char>(0x80 | (code & 0x3F)));
    } else {
      out.push_back(static_cast<char>(0xF0 | (code >> 18)));
      out.push_back(static_cast<char>(0x80 | ((code >> 12) & 0x3F)));
      out.push_back(static_cast<char>(0x80 | ((code >> 6) & 0x3F)));
      out.push_back(static_cast<char>(0x80 | (code & 0x3F)));
    }
  }

  // The length of the well-formed UTF-8 sequence at p_ (RFC 3629: no overlong forms, no
  // surrogates, nothing above U+10FFFF), or 0.
  int utf8_sequence() const {
    const auto at = [this](int i) { return static_cast<unsigned char>(p_[i]); };
    const auto cont = [&](int i) { return (at(i) & 0xC0) == 0x80; };
    const long left = end_ - p_;
    const unsigned char c = at(0);
    if (c >= 0xC2 && c <= 0xDF) return left >= 2 && cont(1) ? 2 : 0;
    if (c >= 0xE0 && c <= 0xEF) {
      if (left < 3 || !cont(1) || !cont(2)) return 0;
      if (c == 0xE0 && at(1) < 0xA0) return 0;  // overlong
      if (c == 0xED && at(1) > 0x9F) return 0;  // a surrogate
      return 3;
    }
    if (c >= 0xF0 && c <= 0xF4) {
      if (left < 4 || !cont(1) || !cont(2) || !cont(3)) return 0;
      if (c == 0xF0 && at(1) < 0x90) return 0;  // overlong
      if (c == 0xF4 && at(1) > 0x8F) return 0;  // above U+10FFFF
      return 4;
    }
    return 0;
  }

  // What the character after a backslash stands for; 0 for `u` (left to Boost.JSON) and for
  // characters that do not form an escape.
  static constexpr std::array<char, 256> kUnescaped = [] {
    std::array<char, 256> to{};
    to['"'] = '"';
    to['\\'] = '\\';
    to['/'] = '/';
    to['b'] = '\b';
    to['f'] = '\f';
    to['n'] = '\n';
    to['r'] = '\r';
    to['t'] = '\t';
    return to;
  }();
};

}  // namespace bc
