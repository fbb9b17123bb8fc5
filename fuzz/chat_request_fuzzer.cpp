// core ChatRequest::parse fed an arbitrary client body: no crash, and an accepted request
// keeps the shape the parser promises (a non-empty `messages` array of objects with a string
// `role`), which every adapter relies on. Whatever the hand-written scan accepts, the tree
// path accepts with the same fields, members and values (chat_scan_check.h).
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include <boost/json/serialize.hpp>

#include "core/chat.h"
#include "core/chat_scan_check.h"
#include "fuzz_support.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view json(reinterpret_cast<const char*>(data), size);
  bool scanned = false;
  if (const std::string what = bc::testing::request_scan_disagreement(json, scanned);
      !what.empty()) {
    bc::fuzz::fail("the request scan disagrees with the tree: " + what);
  }
  auto parsed = bc::ChatRequest::parse(json);
  if (!parsed) {
    bc::fuzz::check_error(parsed.error());
    return 0;
  }
  const bc::ChatRequest& request = *parsed;
  const auto* messages = request.body().if_contains("messages");
  if (messages == nullptr || !messages->is_array() || messages->as_array().empty()) {
    bc::fuzz::fail("accepted a request without a non-empty messages array");
  }
  for (const auto& m : messages->as_array()) {
    const auto* role = m.is_object() ? m.as_object().if_contains("role") : nullptr;
    if (role == nullptr || !role->is_string()) bc::fuzz::fail("accepted a message without role");
  }
  (void)request.has_tools();
  (void)boost::json::serialize(request.body());
  return 0;
}
