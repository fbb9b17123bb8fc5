// OpenAI Chat Completions: POST /v1/chat/completions. The class is open so
// OpenAI-style providers that differ only in ids and error bodies (Baidu v2) reuse it.
#pragma once

#include <boost/json/object.hpp>
#include <boost/json/value.hpp>

#include "mockllm/wire_format.h"

namespace bc::mockllm {

class OpenAiFormat : public WireFormat {
 public:
  std::string_view name() const override { return "openai"; }
  Result<ChatCall> parse(const IncomingRequest& request) const override;
  std::string new_id(std::uint64_t seq) const override;
  std::string completion(const Answer& answer) const override;
  std::string_view stream_content_type() const override;
  // Text: the role chunk. Tool call: the role chunk also opens the call (id, name, "").
  std::vector<std::string> stream_open(const Answer& answer) const override;
  // Text: a content delta. Tool call: an arguments fragment of call index 0.
  std::string stream_piece(const Answer& answer, std::size_t index) const override;
  std::vector<std::string> stream_close(const Answer& answer) const override;
  std::string stream_error(const Answer& answer, std::string_view code) const override;
  std::string stream_malformed(const Answer& answer) const override;
  std::string error_body(const ErrorSpec& error) const override;

 protected:
  // {"error":{"message","type","param","code"}}
  virtual boost::json::object error_object(const ErrorSpec& error) const;
  // The id of the answer's tool call.
  static std::string tool_call_id(const Answer& answer) { return "call_" + answer.id; }

 private:
  static boost::json::object header(const Answer& answer);
  static boost::json::object chunk(const Answer& answer, boost::json::object delta,
                                   boost::json::value finish_reason);
};

const WireFormat& openai_format();

}  // namespace bc::mockllm
