// Reading members of a parsed JSON answer or request, where a wrong type counts as absent:
// the adapters' one copy of these.
#pragma once

#include <string>
#include <string_view>

#include <boost/json/object.hpp>
#include <boost/json/value.hpp>

namespace bc::providers {

// A string's text; "" when `v` is null or not a string.
inline std::string text_of(const boost::json::value* v) {
  if (v == nullptr || !v->is_string()) return {};
  return std::string(v->as_string());
}

// The member `key` of `o` when it is an object; null otherwise.
inline const boost::json::object* object_at(const boost::json::object& o, std::string_view key) {
  const auto* v = o.if_contains(key);
  return v != nullptr && v->is_object() ? &v->as_object() : nullptr;
}

}  // namespace bc::providers
