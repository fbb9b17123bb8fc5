#include "providers/openai_shape.h"

#include <cstring>

#include <boost/json.hpp>

#include "core/json_text.h"

namespace bc::providers {

namespace json = boost::json;

namespace {

constexpr std::string_view kData = "data: ";
constexpr std::string_view kEventEnd = "\n\n";
// What OpenAI writes last in a chunk of a stream that asked for usage. In a chunk of valid
// JSON, text that ends in this is the root object's last member: inside a string every quote
// is escaped, and a nested object would end in "}}".
constexpr std::string_view kNullUsageEnd = R"(,"usage":null})";
constexpr std::string_view kUsageKey = R"("usage")";

// Whether `text` holds `"usage"` anywhere. Found from its 'g', which is rare in chunks, by
// memchr: std::string_view::find took ~250 ns on a 180-byte chunk (it stops at every quote),
// this ~15 ns.
bool mentions_usage(std::string_view text) {
  const char* p = text.data();
  const char* const end = p + text.size();
  while ((p = static_cast<const char*>(std::memchr(p, 'g', static_cast<std::size_t>(end - p)))) !=
         nullptr) {
    if (p - text.data() >= 4 && end - p >= 3 && std::memcmp(p - 4, kUsageKey.data(), 7) == 0) {
      return true;
    }
    ++p;
  }
  return false;
}

void append_event(std::string_view chunk, std::string& out) {
  out.append(kData).append(chunk).append(kEventEnd);
}

// The chunk through its tree, for whatever the byte-level cases below do not cover.
void rewrite(std::string_view chunk, bool include_usage, std::string& out) {
  json::error_code ec;
  json::value parsed = json::parse(chunk, ec);
  if (ec || !parsed.is_object()) {
    append_event(chunk, out);
    return;
  }
  json::object& c = parsed.as_object();
  const json::value* choices = c.if_contains("choices");
  const bool no_choices =
      choices == nullptr || (choices->is_array() && choices->as_array().empty());
  json::value* usage = c.if_contains("usage");
  const bool reports_usage = usage != nullptr && usage->is_object();
  if (!include_usage) {
    if (usage == nullptr) {
      append_event(chunk, out);
      return;
    }
    if (reports_usage && no_choices) return;  // the usage chunk the caller did not ask for
    c.erase("usage");
    append_event(json_text(c), out);
    return;
  }
  if (reports_usage && !no_choices) {
    json::object usage_chunk = c;
    usage_chunk["choices"] = json::array();
    c["usage"] = nullptr;
    append_event(json_text(c), out);
    append_event(json_text(usage_chunk), out);
    return;
  }
  if (usage == nullptr) {
    c["usage"] = nullptr;
    append_event(json_text(c), out);
    return;
  }
  append_event(chunk, out);
}

}  // namespace

void complete_openai_choices(json::object& completion) {
  auto* choices = completion.if_contains("choices");
  if (choices == nullptr || !choices->is_array()) return;
  for (auto& choice : choices->as_array()) {
    if (!choice.is_object()) continue;
    auto& c = choice.as_object();
    if (!c.contains("logprobs")) c["logprobs"] = nullptr;
    if (auto* message = c.if_contains("message"); message != nullptr && message->is_object()) {
      auto& m = message->as_object();
      if (!m.contains("refusal")) m["refusal"] = nullptr;
    }
  }
}

void append_chunk_event(std::string_view chunk, bool include_usage, std::string& out) {
  if (chunk.ends_with(kNullUsageEnd)) {
    if (include_usage) {
      append_event(chunk, out);
    } else {
      out.append(kData).append(chunk.substr(0, chunk.size() - kNullUsageEnd.size()));
      out.append("}").append(kEventEnd);
    }
    return;
  }
  if (!mentions_usage(chunk)) {
    // No member is named usage (a string value "usage" would match and take the tree path).
    if (!include_usage) {
      append_event(chunk, out);
      return;
    }
    const std::size_t last = chunk.find_last_not_of(" \t");
    const std::size_t before = last == std::string_view::npos || last == 0
                                   ? std::string_view::npos
                                   : chunk.find_last_not_of(" \t", last - 1);
    if (last != std::string_view::npos && chunk[last] == '}' && before != std::string_view::npos &&
        chunk[before] != '{' && chunk[before] != ',') {
      out.append(kData).append(chunk.substr(0, last)).append(kNullUsageEnd).append(kEventEnd);
      return;
    }
  }
  rewrite(chunk, include_usage, out);
}

void append_chunk_events(std::string_view events, bool include_usage, std::string& out) {
  while (!events.empty()) {
    const std::size_t end = events.find(kEventEnd);
    if (!events.starts_with(kData) || end == std::string_view::npos) {
      out.append(events);
      return;
    }
    append_chunk_event(events.substr(kData.size(), end - kData.size()), include_usage, out);
    events.remove_prefix(end + kEventEnd.size());
  }
}

}  // namespace bc::providers
