// JSON text as people and other parsers expect it. Boost.JSON 1.81 writes every double in
// exponent form (0.7 -> "7E-1", 45.25 -> "4.525E1"): valid JSON, but it surprises clients
// and upstreams that compare or display numbers. This writer prints doubles in their
// shortest round-trip form ("0.7", "45.25") and is otherwise the same as serialize().
#pragma once

#include <string>

#include <boost/json/value.hpp>

namespace bc {

std::string json_text(const boost::json::value& value);
std::string json_text(const boost::json::object& object);
// Appends to `out` (no allocation beyond the growth of `out`).
void append_json(std::string& out, const boost::json::value& value);

}  // namespace bc
