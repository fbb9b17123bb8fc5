// The lexical pieces of HTTP/1.1 the upstream response parser checks bytes against (RFC 9110
// tokens and field text, RFC 9112 chunk extensions), pure. The small ones are inline: the
// parser calls them per field and per byte of a name.
#pragma once

#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>

#include "core/trim.h"

namespace bc::net::http_syntax {

// RFC 9110 tchar.
inline bool is_token_char(unsigned char c) {
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
inline constexpr auto kText = [] {
  std::array<bool, 256> t{};
  for (int c = 0; c < 256; ++c) t[c] = c == '\t' || (c >= 0x20 && c != 0x7f);
  return t;
}();

inline bool is_text(std::string_view s) {
  bool ok = true;
  for (char c : s) ok &= kText[static_cast<unsigned char>(c)];
  return ok;
}

// The field lines of a head, `lines` of them, each checked for its CRLF by the caller: every
// byte is text, or a CR or LF, and there are exactly as many CRs and LFs as lines (a bare CR
// or LF inside a line is one too many).
bool are_text_lines(std::string_view block, std::size_t lines);

// Whether `a` equals `lower` (lower case) ignoring the case of `a`'s ASCII letters.
inline bool iequals(std::string_view a, std::string_view lower) {
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

inline bool is_token(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) {
    return is_token_char(static_cast<unsigned char>(c));
  });
}

// A chunk's extensions after its size: *( BWS ";" BWS name [ BWS "=" BWS ( token /
// quoted-string ) ] ) (RFC 9112 7.1.1), as strictly as Beast read them.
bool valid_chunk_extensions(std::string_view s);

// 1*DIGIT without overflow.
inline std::optional<std::uint64_t> parse_decimal(std::string_view s) {
  if (s.empty() || s.size() > 19) return std::nullopt;
  std::uint64_t v = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return std::nullopt;
    v = v * 10 + static_cast<std::uint64_t>(c - '0');
  }
  return v;
}

inline int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

}  // namespace bc::net::http_syntax
