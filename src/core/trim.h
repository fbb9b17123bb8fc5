// White space off both ends of a piece of text: the one copy used by the HTTP response parser
// (field values, where it is HTTP's optional white space: a value holds no CR or LF) and the
// stream decoders (an event's data).
#pragma once

#include <string_view>

namespace bc {

// `s` without the spaces, tabs, CRs and LFs at its ends.
inline std::string_view trim(std::string_view s) {
  const auto blank = [](char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; };
  while (!s.empty() && blank(s.front())) s.remove_prefix(1);
  while (!s.empty() && blank(s.back())) s.remove_suffix(1);
  return s;
}

}  // namespace bc
