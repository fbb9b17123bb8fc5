// The native adapters' reading of the caller's OpenAI request (see native.h): limits, content
// parts, tool calls and their results, tools and tool choice.
#include "providers/native.h"

#include <algorithm>

#include <boost/json.hpp>

#include "core/json_text.h"

namespace bc::providers {

namespace json = boost::json;

namespace {

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
    return Error::invalid_param(
        "n", std::string(provider) + " models return a single choice; 'n' must be 1",
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

Result<std::string> walk_messages(const json::object& body, std::string_view provider,
                                  const TurnWriters& write) {
  if (Status st = single_choice(body, provider); !st) return st.error();
  const auto* in_messages = body.if_contains("messages");
  if (in_messages == nullptr || !in_messages->is_array()) {
    return Error::invalid_param("messages", "'messages' must be an array", "invalid_messages");
  }
  const json::array& list = in_messages->as_array();
  std::string system;
  for (std::size_t i = 0; i < list.size(); ++i) {
    if (!list[i].is_object()) continue;
    const json::object& m = list[i].as_object();
    const std::string role = text_of(m.if_contains("role"));
    if (role == "system" || role == "developer") {
      const std::string text = message_text(m.if_contains("content"));
      if (text.empty()) continue;
      if (!system.empty()) system += "\n\n";
      system += text;
    } else if (role == "user") {
      write.user(m);
    } else if (role == "assistant") {
      if (Status st = write.assistant(m); !st) return st.error();
    } else if (role == "tool") {
      write.tool(list, i);
    } else {
      return Error::invalid_param(
          "messages[" + std::to_string(i) + "].role",
          "message role '" + role + "' is not supported by " + std::string(provider),
          "invalid_messages");
    }
  }
  return system;
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

}  // namespace bc::providers
