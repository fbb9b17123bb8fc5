// The head of a response the server sends, written straight into text: a pure function with
// no I/O, so it is unit-tested and fuzzed (fuzz/response_head_fuzzer.cpp) on its own.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include "core/http.h"

namespace bc::net {

// How a response's body is framed.
enum class Framing { kLength, kChunked, kNone };

// Appends a response head as sent: the status line, our Server field and the content type,
// the handler's fields, then Connection and the framing fields, and the blank line. The
// caller's fields are its own (the handlers': names are tokens, values hold no line break);
// Connection, Content-Length and Transfer-Encoding are written here and must not be among
// them. `length` is the Content-Length of Framing::kLength.
void append_head(std::string& out, unsigned version, int status, std::string_view content_type,
                 const Headers& extra, bool keep_alive, Framing framing, std::size_t length = 0);

}  // namespace bc::net
