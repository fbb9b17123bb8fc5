// Parses a JSON document into one arena that the parsed tree owns.
//
// Why: a request body or a completion becomes a tree of some 20-40 nodes, each a malloc and a
// free with the default allocator; those were the largest single cost of a proxied call. Here
// the tree lives in a monotonic resource sized from the text (usually one block), shared by
// reference count: a copy of the tree or of any part of it keeps the arena alive, so no part
// can outlive its memory, and the arena is freed with the last node that uses it.
#pragma once

#include <string_view>

#include <boost/json/value.hpp>

namespace bc {

// The parsed document, or null with `ec` set. Trailing bytes after the value are an error, as
// with boost::json::parse.
boost::json::value parse_json_in_arena(std::string_view text, boost::json::error_code& ec);

}  // namespace bc
