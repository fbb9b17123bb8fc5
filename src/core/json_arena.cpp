#include "core/json_arena.h"

#include <algorithm>

#include <boost/json/monotonic_resource.hpp>
#include <boost/json/parser.hpp>

namespace bc {

namespace json = boost::json;

json::value parse_json_in_arena(std::string_view text, json::error_code& ec) {
  // A tree takes about twice its text (values, keys, object tables); more spills into a
  // second block the arena allocates itself.
  const std::size_t first_block = std::max<std::size_t>(1024, 2 * text.size() + 256);
  json::storage_ptr arena = json::make_shared_resource<json::monotonic_resource>(first_block);
  // The parser keeps its working stack from one document to the next on this thread.
  thread_local json::parser parser;
  parser.reset(arena);
  try {
    parser.write(text.data(), text.size(), ec);
  } catch (...) {
    parser.reset();
    throw;
  }
  // Constructed, not assigned: assigning a json::value copies it into the target's storage.
  json::value parsed = ec ? json::value(nullptr) : parser.release();
  parser.reset();  // drops the parser's reference to the arena
  return parsed;
}

}  // namespace bc
