// JSON text as people and other parsers expect it. Boost.JSON 1.81 writes every double in
// exponent form (0.7 -> "7E-1", 45.25 -> "4.525E1"): valid JSON, but it surprises clients
// and upstreams that compare or display numbers. This writer prints doubles in their
// shortest round-trip form ("0.7", "45.25") and is otherwise the same as serialize().
#pragma once

#include <string>
#include <string_view>

#include <boost/json/object.hpp>
#include <boost/json/value.hpp>

namespace bc {

std::string json_text(const boost::json::value& value);
std::string json_text(const boost::json::object& object);
// Append to `out` (no allocation beyond the growth of `out`). For writers that compose a
// document from parts without building it as a tree first (providers::openai_body_text).
void append_json(std::string& out, const boost::json::value& value);
void append_json(std::string& out, const boost::json::object& object);
// `s` as a quoted JSON string; bytes that are not valid UTF-8 become U+FFFD.
void append_json_string(std::string& out, std::string_view s);

}  // namespace bc
