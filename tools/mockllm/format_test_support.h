// What the mock's format tests share: answers to frame, requests to read, and the framing
// read back (SSE data events, Anthropic's named events, Gemini's CRLF events, NDJSON lines).
#pragma once

#include <gtest/gtest.h>

#include <boost/json.hpp>

#include "mockllm/answer.h"
#include "mockllm/wire_format.h"

namespace bc::mockllm::format_testing {
namespace json = boost::json;

inline Answer text_answer(int tokens = 5) {
  Answer a;
  a.id = "id-1";
  a.created = 1700000000;
  a.model = "m1";
  a.pieces = answer_pieces("m1", "k1", tokens);
  a.prompt_tokens = 3;
  return a;
}

inline Answer tool_answer() {
  Answer a = text_answer();
  a.tool_call = ToolCall{"get_weather"};
  a.pieces = tool_argument_fragments();
  return a;
}

// Removes `prefix` and `suffix` from `event`, failing the test when they are not there.
inline std::string strip(const std::string& event, std::string_view prefix,
                         std::string_view suffix) {
  EXPECT_TRUE(event.starts_with(prefix)) << event;
  EXPECT_TRUE(event.ends_with(suffix)) << event;
  if (event.size() < prefix.size() + suffix.size()) return {};
  return event.substr(prefix.size(), event.size() - prefix.size() - suffix.size());
}

inline json::value sse_json(const std::string& event) {
  return json::parse(strip(event, "data: ", "\n\n"));
}

// An Anthropic event: its name must equal the payload's type.
inline json::value named_json(const std::string& event) {
  const auto newline = event.find('\n');
  EXPECT_TRUE(event.starts_with("event: ")) << event;
  const auto name = event.substr(7, newline - 7);
  const auto doc = json::parse(strip(event.substr(newline + 1), "data: ", "\n\n"));
  EXPECT_EQ(doc.at("type").as_string(), name);
  return doc;
}

inline json::value gemini_json(const std::string& event) {
  return json::parse(strip(event, "data: ", "\r\n\r\n"));
}

inline json::value ndjson(const std::string& line) {
  EXPECT_EQ(line.find('\n'), line.size() - 1) << line;
  return json::parse(line);
}

struct Call {
  Headers headers{};
  std::string target = "/";
  std::string body{};
  std::int64_t now = 1700000000;
  IncomingRequest request() const { return {target, headers, body, now}; }
};

}  // namespace bc::mockllm::format_testing
