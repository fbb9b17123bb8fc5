#include "core/stream_options.h"

#include <boost/json.hpp>

namespace bc {

namespace json = boost::json;

namespace {
bool include_usage(const json::value& options) {
  if (!options.is_object()) return false;
  const auto* v = options.as_object().if_contains("include_usage");
  return v != nullptr && v->is_bool() && v->as_bool();
}
}  // namespace

bool wants_usage_chunks(const ChatRequest& request) {
  if (const ChatRequest::Raw* raw = request.raw()) {
    // The rest of the request stays a scanned text.
    for (const auto& m : raw->scan.members) {
      if (raw->key(m) != "stream_options") continue;
      json::error_code ec;
      const json::value options = json::parse(raw->value(m), ec);
      return !ec && include_usage(options);
    }
    return false;
  }
  const auto* options = request.body().if_contains("stream_options");
  return options != nullptr && include_usage(*options);
}

}  // namespace bc
