#include "providers/native.h"

#include <algorithm>

#include <boost/json.hpp>

#include "core/json_text.h"

namespace bc::providers {

namespace json = boost::json;

namespace {

std::string text_of(const json::value* v) {
  if (v == nullptr || !v->is_string()) return {};
  return std::string(v->as_string());
}

// "data:image/png;base64,AAAA" → media type and data; false for any other URL.
bool parse_data_url(std::string_view url, ContentPart& part) {
  if (!url.starts_with("data:")) return false;
  const auto comma = url.find(',');
  if (comma == std::string_view::npos) return false;
  std::string_view meta = url.substr(5, comma - 5);
  if (!meta.ends_with(";base64")) return false;
  meta.remove_suffix(7);
  part.media_type = meta.empty() ? "application/octet-stream" : std::string(meta);
  part.data = std::string(url.substr(comma + 1));
  return true;
}

}  // namespace

std::string upstream_model(const ProviderOptions& options) {
  return options.upstream_model.empty() ? options.model_name : options.upstream_model;
}

std::optional<double> sampling_temperature(const json::object& body,
                                           const ProviderOptions& options) {
  if (const auto* t = body.if_contains("temperature"); t != nullptr && t->is_number()) {
    return t->to_number<double>();
  }
  return options.default_temperature;
}

std::optional<std::int64_t> max_output_tokens(const json::object& body) {
  for (std::string_view key : {"max_completion_tokens", "max_tokens"}) {
    const auto* v = body.if_contains(key);
    if (v == nullptr || !v->is_number()) continue;
    const std::int64_t n = json_int(v);
    if (n > 0) return n;
  }
  return std::nullopt;
}

std::vector<std::string> stop_sequences(const json::object& body) {
  std::vector<std::string> out;
  const auto* stop = body.if_contains("stop");
  if (stop == nullptr) return out;
  if (stop->is_string()) {
    if (!stop->as_string().empty()) out.emplace_back(stop->as_string());
  } else if (stop->is_array()) {
    for (const auto& s : stop->as_array()) {
      if (s.is_string() && !s.as_string().empty()) out.emplace_back(s.as_string());
    }
  }
  return out;
}

Status single_choice(const json::object& body, std::string_view provider) {
  if (const auto* n = body.if_contains("n"); n != nullptr && n->is_number() && json_int(n) > 1) {
    return Error::invalid_request(
        std::string(provider) + " models return a single choice; 'n' must be 1",
        "unsupported_parameter");
  }
  return {};
}

std::int64_t json_int(const json::value* v) {
  // Bounded so that sums of counts cannot overflow (and a double out of int64's range, whose
  // conversion is undefined, is never converted).
  constexpr std::int64_t kLimit = 1'000'000'000'000'000;
  if (v == nullptr) return 0;
  if (v->is_int64()) return std::clamp(v->as_int64(), -kLimit, kLimit);
  if (v->is_uint64()) {
    const std::uint64_t u = v->as_uint64();
    return u > static_cast<std::uint64_t>(kLimit) ? kLimit : static_cast<std::int64_t>(u);
  }
  if (v->is_double()) {
    const double d = v->as_double();
    if (!(d > -1e15 && d < 1e15)) return 0;
    return static_cast<std::int64_t>(d);
  }
  return 0;
}

std::vector<ContentPart> content_parts(const json::value* content) {
  std::vector<ContentPart> parts;
  if (content == nullptr) return parts;
  if (content->is_string()) {
    parts.push_back(
        ContentPart{ContentPart::Kind::kText, std::string(content->as_string()), {}, {}, {}});
    return parts;
  }
  if (!content->is_array()) return parts;
  for (const auto& p : content->as_array()) {
    if (!p.is_object()) continue;
    const auto& part = p.as_object();
    const std::string type = text_of(part.if_contains("type"));
    if (type == "text") {
      parts.push_back(
          ContentPart{ContentPart::Kind::kText, text_of(part.if_contains("text")), {}, {}, {}});
    } else if (type == "image_url") {
      const auto* image = part.if_contains("image_url");
      std::string url;
      if (image != nullptr && image->is_object()) {
        url = text_of(image->as_object().if_contains("url"));
      } else {
        url = text_of(image);
      }
      if (url.empty()) continue;
      ContentPart out;
      out.kind = ContentPart::Kind::kImage;
      if (!parse_data_url(url, out)) out.url = std::move(url);
      parts.push_back(std::move(out));
    }
  }
  return parts;
}

std::string message_text(const json::value* content) {
  std::string text;
  for (const auto& part : content_parts(content)) {
    if (part.kind == ContentPart::Kind::kText) text += part.text;
  }
  return text;
}

Result<json::object> tool_arguments(const json::value* arguments, std::string_view tool_name) {
  if (arguments == nullptr || arguments->is_null()) return json::object();
  if (arguments->is_object()) return arguments->as_object();
  if (arguments->is_string()) {
    const std::string_view text = arguments->as_string();
    if (text.find_first_not_of(" \t\r\n") == std::string_view::npos) return json::object();
    json::error_code ec;
    json::value parsed = json::parse(text, ec);
    if (!ec && parsed.is_object()) return std::move(parsed.as_object());
  }
  return Error::invalid_request(
      "the arguments of tool call '" + std::string(tool_name) + "' are not a JSON object",
      "invalid_tool_arguments");
}

std::string tool_name_for(const json::array& messages, std::size_t before, std::string_view id) {
  for (std::size_t i = std::min(before, messages.size()); i-- > 0;) {
    if (!messages[i].is_object()) continue;
    const auto& m = messages[i].as_object();
    if (text_of(m.if_contains("role")) != "assistant") continue;
    const auto* calls = m.if_contains("tool_calls");
    if (calls == nullptr || !calls->is_array()) continue;
    for (const auto& call : calls->as_array()) {
      if (!call.is_object() || text_of(call.as_object().if_contains("id")) != id) continue;
      const auto* fn = call.as_object().if_contains("function");
      if (fn != nullptr && fn->is_object()) return text_of(fn->as_object().if_contains("name"));
    }
  }
  return {};
}

std::vector<FunctionTool> function_tools(const json::object& body) {
  std::vector<FunctionTool> out;
  const auto* tools = body.if_contains("tools");
  if (tools == nullptr || !tools->is_array()) return out;
  for (const auto& t : tools->as_array()) {
    if (!t.is_object()) continue;
    const auto& tool = t.as_object();
    const auto* type = tool.if_contains("type");
    if (type != nullptr && !(type->is_string() && type->as_string() == "function")) continue;
    const auto* fn = tool.if_contains("function");
    if (fn == nullptr || !fn->is_object()) continue;
    const auto& f = fn->as_object();
    FunctionTool out_tool;
    out_tool.name = text_of(f.if_contains("name"));
    if (out_tool.name.empty()) continue;
    out_tool.description = text_of(f.if_contains("description"));
    if (const auto* p = f.if_contains("parameters")) out_tool.parameters = *p;
    out.push_back(std::move(out_tool));
  }
  return out;
}

ToolChoice tool_choice(const json::object& body) {
  ToolChoice out;
  const auto* choice = body.if_contains("tool_choice");
  if (choice == nullptr || choice->is_null()) return out;
  if (choice->is_string()) {
    const std::string_view s = choice->as_string();
    if (s == "auto") out.mode = ToolChoice::Mode::kAuto;
    if (s == "none") out.mode = ToolChoice::Mode::kNone;
    if (s == "required") out.mode = ToolChoice::Mode::kRequired;
    return out;
  }
  if (choice->is_object()) {
    const auto* fn = choice->as_object().if_contains("function");
    if (fn != nullptr && fn->is_object()) {
      out.name = text_of(fn->as_object().if_contains("name"));
      if (!out.name.empty()) out.mode = ToolChoice::Mode::kNamed;
    }
  }
  return out;
}

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
  ChatResponse response;
  response.usage = answer.usage;
  response.completion =
      json::object{{"id", answer.id},
                   {"object", "chat.completion"},
                   {"created", answer.created},
                   {"model", answer.model},
                   {"choices", json::array{json::object{{"index", 0},
                                                        {"message", std::move(message)},
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
