// The native adapters' OpenAI answers and stream framing (see native.h): chat.completion and
// chat.completion.chunk objects, the line parser, and the decoder base that frames a stream
// into events for an adapter.
#include "providers/native.h"

#include <boost/json.hpp>

#include "core/json_text.h"

namespace bc::providers {

namespace json = boost::json;

Usage make_usage(std::int64_t prompt, std::int64_t completion, std::optional<std::int64_t> total) {
  Usage u;
  u.prompt_tokens = prompt;
  u.completion_tokens = completion;
  u.total_tokens = total.value_or(prompt + completion);
  return u;
}

namespace {

json::object usage_json(const Usage& u) {
  return {{"prompt_tokens", u.prompt_tokens},
          {"completion_tokens", u.completion_tokens},
          {"total_tokens", u.total_tokens}};
}

}  // namespace

ChatResponse completion_of(Answer answer) {
  json::object message{{"role", "assistant"}};
  if (answer.content.empty() && !answer.tool_calls.empty()) {
    message["content"] = nullptr;
  } else {
    message["content"] = answer.content;
  }
  if (!answer.reasoning.empty()) message["reasoning_content"] = answer.reasoning;
  if (!answer.tool_calls.empty()) {
    json::array calls;
    for (auto& call : answer.tool_calls) {
      calls.push_back(json::object{
          {"id", call.id},
          {"type", "function"},
          {"function", json::object{{"name", call.name}, {"arguments", call.arguments}}}});
    }
    message["tool_calls"] = std::move(calls);
  }
  message["refusal"] = nullptr;
  ChatResponse response;
  response.usage = answer.usage;
  response.completion =
      json::object{{"id", answer.id},
                   {"object", "chat.completion"},
                   {"created", answer.created},
                   {"model", answer.model},
                   {"choices", json::array{json::object{{"index", 0},
                                                        {"message", std::move(message)},
                                                        {"logprobs", nullptr},
                                                        {"finish_reason", answer.finish_reason}}}},
                   {"usage", usage_json(answer.usage)}};
  return response;
}

// ---- ChunkWriter ----

void ChunkWriter::set_identity(std::string id, std::string model, std::int64_t created) {
  id_ = std::move(id);
  model_ = std::move(model);
  created_ = created;
  identified_ = true;
}

json::object ChunkWriter::chunk() const {
  return {
      {"id", id_}, {"object", "chat.completion.chunk"}, {"created", created_}, {"model", model_}};
}

void ChunkWriter::emit(json::object delta, std::vector<ChatDelta>& out, std::string text) {
  if (!role_sent_) role(out);
  json::object c = chunk();
  c["choices"] = json::array{
      json::object{{"index", 0}, {"delta", std::move(delta)}, {"finish_reason", nullptr}}};
  ChatDelta d;
  d.chunk_json = json_text(c);
  d.text = std::move(text);
  out.push_back(std::move(d));
}

void ChunkWriter::role(std::vector<ChatDelta>& out) {
  if (role_sent_) return;
  role_sent_ = true;
  emit(json::object{{"role", "assistant"}, {"content", ""}}, out);
}

void ChunkWriter::content(std::string_view text, std::vector<ChatDelta>& out) {
  if (text.empty()) return;
  emit(json::object{{"content", text}}, out, std::string(text));
}

void ChunkWriter::reasoning(std::string_view text, std::vector<ChatDelta>& out) {
  if (text.empty()) return;
  emit(json::object{{"reasoning_content", text}}, out);
}

void ChunkWriter::tool_call(int index, std::string_view id, std::string_view name,
                            std::string_view arguments, std::vector<ChatDelta>& out) {
  json::object call{{"index", index},
                    {"id", id},
                    {"type", "function"},
                    {"function", json::object{{"name", name}, {"arguments", arguments}}}};
  emit(json::object{{"tool_calls", json::array{std::move(call)}}}, out);
}

void ChunkWriter::tool_arguments(int index, std::string_view fragment,
                                 std::vector<ChatDelta>& out) {
  if (fragment.empty()) return;
  json::object call{{"index", index}, {"function", json::object{{"arguments", fragment}}}};
  emit(json::object{{"tool_calls", json::array{std::move(call)}}}, out);
}

void ChunkWriter::finish(std::string_view reason, std::vector<ChatDelta>& out) {
  if (!role_sent_) role(out);
  json::object c = chunk();
  c["choices"] =
      json::array{json::object{{"index", 0}, {"delta", json::object()}, {"finish_reason", reason}}};
  ChatDelta d;
  d.chunk_json = json_text(c);
  d.finish_reason = std::string(reason);
  out.push_back(std::move(d));
}

void ChunkWriter::usage(const Usage& usage, std::vector<ChatDelta>& out) {
  json::object c = chunk();
  c["choices"] = json::array();
  c["usage"] = usage_json(usage);
  ChatDelta d;
  d.chunk_json = json_text(c);
  d.usage = usage;
  out.push_back(std::move(d));
}

Error provider_error(std::string_view provider, std::string message) {
  Error e = Error::upstream(std::move(message));
  e.source = "upstream:" + std::string(provider);
  return e;
}

// ---- LineParser ----

Status LineParser::feed(std::string_view bytes, std::vector<SseEvent>& out) {
  auto too_long = [this] {
    failed_ = true;
    partial_.clear();
    return Error::upstream(
        "upstream sent a line longer than " + std::to_string(max_line_bytes_) + " bytes",
        "invalid_stream");
  };
  if (failed_) return too_long();
  while (!bytes.empty()) {
    const auto lf = bytes.find('\n');
    const std::size_t take = lf == std::string_view::npos ? bytes.size() : lf;
    if (partial_.size() + take > max_line_bytes_) return too_long();
    partial_.append(bytes.substr(0, take));
    if (lf == std::string_view::npos) return {};
    bytes.remove_prefix(lf + 1);
    if (!partial_.empty() && partial_.back() == '\r') partial_.pop_back();
    if (partial_.find_first_not_of(" \t") != std::string::npos) {
      out.push_back(SseEvent{{}, std::move(partial_)});
    }
    partial_.clear();
  }
  return {};
}

Status LineParser::finish(std::vector<SseEvent>& out) {
  if (failed_) return Error::upstream("upstream sent a line that was too long", "invalid_stream");
  if (!partial_.empty() && partial_.back() == '\r') partial_.pop_back();
  if (partial_.find_first_not_of(" \t") != std::string::npos) {
    out.push_back(SseEvent{{}, std::move(partial_)});
  }
  partial_.clear();
  return {};
}

// ---- FramedStreamDecoder ----

Status FramedStreamDecoder::fail(Error error) {
  failed_ = true;
  error_ = std::move(error);
  return error_;
}

Error FramedStreamDecoder::malformed(std::string message) const {
  Error e = provider_error(provider_, std::move(message));
  e.code = kMalformedPayload;
  return e;
}

Result<json::object> FramedStreamDecoder::parse_object(std::string_view data) const {
  json::error_code ec;
  json::value parsed = json::parse(data, ec);
  if (ec || !parsed.is_object()) {
    return malformed("upstream sent a malformed stream chunk" +
                     (ec ? ": " + ec.message() : std::string(" (not an object)")));
  }
  return std::move(parsed.as_object());
}

Status FramedStreamDecoder::end(std::vector<ChatDelta>&) {
  return provider_error(provider_, "upstream stream ended before " + std::string(end_marker()));
}

Status FramedStreamDecoder::feed(std::string_view bytes, std::vector<ChatDelta>& out) {
  if (failed_) return error_;
  if (done_) return {};  // nothing after the end marker counts
  frames_.clear();
  const Status parsed =
      framing_ == Framing::kSse ? sse_.feed(bytes, frames_) : lines_.feed(bytes, frames_);
  // Frames completed before a framing error are still valid: decode them first.
  for (auto& f : frames_) {
    if (done_) break;
    if (Status st = frame(f, out); !st) return fail(st.error());
  }
  if (!parsed) {
    Error e = parsed.error();
    e.source = "upstream:" + std::string(provider_);
    return fail(std::move(e));
  }
  return {};
}

Status FramedStreamDecoder::finish(std::vector<ChatDelta>& out) {
  if (failed_) return error_;
  if (done_) return {};
  frames_.clear();
  const Status parsed = framing_ == Framing::kSse ? sse_.finish(frames_) : lines_.finish(frames_);
  if (!parsed) {
    Error e = parsed.error();
    e.source = "upstream:" + std::string(provider_);
    return fail(std::move(e));
  }
  // A frame the upstream did not terminate: whole payloads count, a payload cut in half is
  // the cut stream reported below.
  for (auto& f : frames_) {
    if (done_) break;
    std::vector<ChatDelta> decoded;
    if (Status st = frame(f, decoded); !st) {
      if (st.error().code != kMalformedPayload) return fail(st.error());
      break;
    }
    for (auto& d : decoded) out.push_back(std::move(d));
  }
  if (done_) return {};
  if (Status st = end(out); !st) return fail(st.error());
  return {};
}

}  // namespace bc::providers
