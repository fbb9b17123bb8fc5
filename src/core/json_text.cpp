#include "core/json_text.h"

#include <array>
#include <charconv>
#include <cmath>
#include <cstdint>

#include <boost/json/serialize.hpp>

#include "core/json_plain_run.h"

namespace bc {

namespace json = boost::json;

namespace {

// Length of the valid UTF-8 sequence starting at s[i], or 0 when it is not valid.
std::size_t utf8_sequence(std::string_view s, std::size_t i) {
  const auto b0 = static_cast<unsigned char>(s[i]);
  std::size_t n = 0;
  std::uint32_t cp = 0;
  if (b0 >= 0xC2 && b0 <= 0xDF) {
    n = 2;
    cp = b0 & 0x1F;
  } else if (b0 >= 0xE0 && b0 <= 0xEF) {
    n = 3;
    cp = b0 & 0x0F;
  } else if (b0 >= 0xF0 && b0 <= 0xF4) {
    n = 4;
    cp = b0 & 0x07;
  } else {
    return 0;
  }
  if (i + n > s.size()) return 0;
  for (std::size_t k = 1; k < n; ++k) {
    const auto b = static_cast<unsigned char>(s[i + k]);
    if ((b & 0xC0) != 0x80) return 0;
    cp = (cp << 6) | (b & 0x3F);
  }
  // Overlong forms, surrogates and code points past U+10FFFF are not valid UTF-8.
  if ((n == 3 && cp < 0x800) || (n == 4 && (cp < 0x10000 || cp > 0x10FFFF)) ||
      (cp >= 0xD800 && cp <= 0xDFFF)) {
    return 0;
  }
  return n;
}

// The escape for one ASCII byte that is not plain.
void append_escape(std::string& out, unsigned char u) {
  switch (u) {
    case '"':
      out += "\\\"";
      break;
    case '\\':
      out += "\\\\";
      break;
    case '\n':
      out += "\\n";
      break;
    case '\r':
      out += "\\r";
      break;
    case '\t':
      out += "\\t";
      break;
    case '\b':
      out += "\\b";
      break;
    case '\f':
      out += "\\f";
      break;
    default: {
      static constexpr char kHex[] = "0123456789abcdef";
      const char escape[] = {'\\', 'u', '0', '0', kHex[u >> 4], kHex[u & 0xf]};
      out.append(escape, sizeof escape);
    }
  }
}

void append_double(std::string& out, double d) {
  // JSON has no NaN or infinity; Boost.JSON writes them as null-like extensions. Keep null.
  if (!std::isfinite(d)) {
    out += "null";
    return;
  }
  // Plain decimals wherever JavaScript writes them (1e-7 <= |d| < 1e21): the shortest form
  // alone picks an exponent when it is shorter ("1e+08" for 100000000, "1e-05"), which the
  // seed's reports never showed. Beyond that range the shortest form, exponent and all.
  char buf[64];
  const double magnitude = std::fabs(d);
  const bool plain = magnitude == 0 || (magnitude >= 1e-7 && magnitude < 1e21);
  const auto r = plain ? std::to_chars(buf, buf + sizeof buf, d, std::chars_format::fixed)
                       : std::to_chars(buf, buf + sizeof buf, d);
  std::string_view text(buf, static_cast<std::size_t>(r.ptr - buf));
  out += text;
  // "3" would read back as an integer: keep it a number with a fraction, as the source was.
  if (text.find_first_of(".eE") == std::string_view::npos) out += ".0";
}

}  // namespace

// Writes a JSON string. Text from upstream error bodies is not always valid UTF-8; invalid
// bytes become U+FFFD so the output stays valid JSON for every client. Runs of bytes that
// need no change (plain ASCII and valid UTF-8 sequences) are copied with one append.
void append_json_string(std::string& out, std::string_view s) {
  out.push_back('"');
  std::size_t run = 0;  // start of the bytes not yet copied
  std::size_t i = 0;
  const char* const end = s.data() + s.size();
  while (i < s.size()) {
    i = static_cast<std::size_t>(json_plain_run_end(s.data() + i, end) - s.data());
    if (i == s.size()) break;
    const auto u = static_cast<unsigned char>(s[i]);
    if (u >= 0x80) {
      if (const auto n = utf8_sequence(s, i); n != 0) {
        i += n;
        continue;
      }
    }
    out.append(s.data() + run, i - run);
    if (u >= 0x80) {
      out += "\ufffd";
    } else {
      append_escape(out, u);
    }
    run = ++i;
  }
  out.append(s.data() + run, s.size() - run);
  out.push_back('"');
}

void append_json(std::string& out, const json::value& value) {
  switch (value.kind()) {
    case json::kind::null:
      out += "null";
      break;
    case json::kind::bool_:
      out += value.get_bool() ? "true" : "false";
      break;
    case json::kind::int64: {
      char buf[32];
      const auto r = std::to_chars(buf, buf + sizeof buf, value.get_int64());
      out.append(buf, r.ptr);
      break;
    }
    case json::kind::uint64: {
      char buf[32];
      const auto r = std::to_chars(buf, buf + sizeof buf, value.get_uint64());
      out.append(buf, r.ptr);
      break;
    }
    case json::kind::double_:
      append_double(out, value.get_double());
      break;
    case json::kind::string:
      append_json_string(out, value.get_string());
      break;
    case json::kind::array: {
      out.push_back('[');
      bool first = true;
      for (const auto& v : value.get_array()) {
        if (!first) out.push_back(',');
        first = false;
        append_json(out, v);
      }
      out.push_back(']');
      break;
    }
    case json::kind::object:
      append_json(out, value.get_object());
      break;
  }
}

void append_json(std::string& out, const json::object& object) {
  out.push_back('{');
  bool first = true;
  for (const auto& kv : object) {
    if (!first) out.push_back(',');
    first = false;
    append_json_string(out, kv.key());
    out.push_back(':');
    append_json(out, kv.value());
  }
  out.push_back('}');
}

std::string json_text(const json::value& value) {
  std::string out;
  append_json(out, value);
  return out;
}

std::string json_text(const json::object& object) {
  std::string out;
  // Chat requests and completions are a few hundred bytes: one small allocation usually
  // holds the whole text, where growing from empty would reallocate several times.
  out.reserve(1024);
  append_json(out, object);
  return out;
}

}  // namespace bc
