// providers/anthropic_messages.h fed arbitrary bytes. As a client body (both calls): no crash,
// and an accepted request has what the forwarder and every adapter rely on: a model, a
// non-empty `messages` array of objects with a string `role`, and a token estimate of at
// least 1. As a relayed chunk, to the stream's event writer: every event it writes is
// `event: <name>` and one `data:` line of a JSON object whose `type` is that name.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include "fuzz_support.h"
#include "providers/anthropic_messages.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view json(reinterpret_cast<const char*>(data), size);
  for (const auto call :
       {bc::providers::MessagesCall::kCreate, bc::providers::MessagesCall::kCountTokens}) {
    auto parsed = bc::providers::parse_messages_request(json, call);
    if (!parsed) {
      bc::fuzz::check_error(parsed.error());
      if (parsed.error().status() != 400) bc::fuzz::fail("a refused request is not a 400");
      continue;
    }
    const bc::ChatRequest& request = *parsed;
    if (request.model.empty()) bc::fuzz::fail("accepted a request without a model");
    const auto* messages = request.body().if_contains("messages");
    if (messages == nullptr || !messages->is_array() || messages->as_array().empty()) {
      bc::fuzz::fail("accepted a request without a non-empty messages array");
    }
    for (const auto& m : messages->as_array()) {
      const auto* role = m.is_object() ? m.as_object().if_contains("role") : nullptr;
      if (role == nullptr || !role->is_string()) bc::fuzz::fail("accepted a message without role");
    }
    if (bc::providers::estimate_input_tokens(request) < 1) bc::fuzz::fail("estimate below 1");
    (void)boost::json::serialize(request.body());
  }
  bc::providers::RelayDelta delta;  // as the forwarder relays it
  delta.chunk_json.assign(json);
  bc::providers::MessageEventWriter writer("msg_fuzz", "m");
  std::string out;
  writer.add(delta, out);
  writer.finish(out);
  std::string_view rest = out;
  while (!rest.empty()) {
    const auto end = rest.find("\n\n");
    if (end == std::string_view::npos) bc::fuzz::fail("an event without its blank line");
    const std::string_view event = rest.substr(0, end);
    rest.remove_prefix(end + 2);
    const auto nl = event.find('\n');
    if (!event.starts_with("event: ") || nl == std::string_view::npos ||
        event.substr(nl + 1, 6) != "data: " || event.find('\n', nl + 1) != std::string_view::npos) {
      bc::fuzz::fail("an event that is not `event:` and one `data:` line");
    }
    boost::json::error_code ec;
    const auto data = boost::json::parse(event.substr(nl + 7), ec);
    const auto* type = !ec && data.is_object() ? data.as_object().if_contains("type") : nullptr;
    if (type == nullptr || !type->is_string() || type->as_string() != event.substr(7, nl - 7)) {
      bc::fuzz::fail("an event whose data is not an object of its type");
    }
  }
  return 0;
}
