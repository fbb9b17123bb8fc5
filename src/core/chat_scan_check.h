// Test support: holds scan_chat_request() to the tree path (ChatRequest::parse_tree), the
// reference. Shared by the unit tests and the chat_request fuzz target.
#pragma once

#include <string>
#include <string_view>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include "core/chat.h"
#include "core/chat_scan.h"

namespace bc::testing {

// What the scan of `text` says that the tree path does not ("" when they agree or the scan is
// not sure). `scanned` tells whether the scan accepted `text`.
inline std::string request_scan_disagreement(std::string_view text, bool& scanned) {
  const auto scan = scan_chat_request(text);
  scanned = scan.has_value();
  if (!scan) return "";
  const auto tree = ChatRequest::parse_tree(text);
  if (!tree) return "the scan accepts what the tree refuses: " + tree.error().message;
  const std::string model = scan->model == "auto" ? std::string() : scan->model;
  if (model != tree->model) return "model '" + model + "' != '" + tree->model + "'";
  if (scan->stream != tree->stream) return "stream differs";
  if (scan->has_tools != tree->has_tools()) return "has_tools differs";
  if (scan->content_chars != tree->content_chars()) {
    return "content_chars " + std::to_string(scan->content_chars) +
           " != " + std::to_string(tree->content_chars());
  }
  const auto limit = scan->max_completion_tokens ? scan->max_completion_tokens : scan->max_tokens;
  if (limit != tree->max_answer_tokens()) return "max answer tokens differ";
  const boost::json::object& body = tree->body();
  if (body.size() != scan->members.size()) return "member count differs";
  auto kv = body.begin();
  for (const auto& m : scan->members) {
    const std::string_view key = text.substr(m.key_begin, m.key_size);
    if (key != kv->key()) return "member '" + std::string(key) + "' is not in the tree's order";
    boost::json::error_code ec;
    const auto value = boost::json::parse(text.substr(m.value_begin, m.value_size), ec);
    if (ec) return "the value of '" + std::string(key) + "' is not JSON on its own";
    if (value != kv->value()) {
      return "the value of '" + std::string(key) + "' differs: " + boost::json::serialize(value);
    }
    ++kv;
  }
  return "";
}

}  // namespace bc::testing
