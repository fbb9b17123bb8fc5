// The legacy wenxinworkshop API of Baidu: its request, answer and stream
// shapes, translated from and to OpenAI's.
#include <algorithm>
#include <unordered_map>

#include <boost/json.hpp>

#include "core/json_text.h"
#include "core/trim.h"
#include "providers/adapter_util.h"
#include "providers/baidu_internal.h"
#include "providers/native.h"
#include "providers/openai.h"
#include "providers/openai_shape.h"
#include "providers/upstream_error.h"

namespace bc::providers::baidu {

namespace json = boost::json;

namespace {

Error upstream_error(std::string message) {
  Error e = Error::upstream(std::move(message));
  e.source = "upstream:baidu";
  return e;
}

std::string_view role_of(const json::object& m) {
  const auto* role = m.if_contains("role");
  return role != nullptr && role->is_string() ? std::string_view(role->as_string())
                                              : std::string_view();
}

std::string text_field(const json::object& m, std::string_view key) {
  const auto* v = m.if_contains(key);
  return v != nullptr ? content_text(*v) : std::string();
}

double clamp_number(const json::value& v, double low, double high) {
  return std::clamp(v.to_number<double>(), low, high);
}

// OpenAI messages as the legacy API wants them: system text apart, roles user / assistant /
// function only, starting and ending with the user's side, consecutive same-role turns merged.
Result<json::array> legacy_messages(const json::array& in, bool tools, std::string& system) {
  std::unordered_map<std::string, std::string> call_names;  // tool_call_id -> function name
  json::array out;
  auto append = [&out](json::object m) {
    const std::string_view role = role_of(m);
    if (!out.empty() && (role == "user" || role == "assistant") && !m.contains("function_call")) {
      auto& last = out.back().as_object();
      if (role_of(last) == role && !last.contains("function_call")) {
        std::string merged(last.at("content").as_string());
        merged += "\n";
        merged += m.at("content").as_string();
        last["content"] = merged;
        return;
      }
    }
    out.push_back(std::move(m));
  };
  for (const auto& value : in) {
    if (!value.is_object()) continue;
    const auto& m = value.as_object();
    const std::string_view role = role_of(m);
    std::string text = text_field(m, "content");
    if (role == "system" || role == "developer") {
      if (text.empty()) continue;
      if (!system.empty()) system += "\n";
      system += text;
    } else if (role == "assistant") {
      const auto* calls = m.if_contains("tool_calls");
      if (tools && calls != nullptr && calls->is_array() && !calls->as_array().empty()) {
        // The legacy API knows one call per turn: the first is kept.
        json::object fc;
        for (const auto& call : calls->as_array()) {
          if (!call.is_object()) continue;
          const auto* fn = call.as_object().if_contains("function");
          if (fn == nullptr || !fn->is_object()) continue;
          const std::string name = text_field(fn->as_object(), "name");
          const auto* id = call.as_object().if_contains("id");
          if (id != nullptr && id->is_string()) call_names[std::string(id->as_string())] = name;
          if (fc.empty())
            fc = {{"name", name}, {"arguments", text_field(fn->as_object(), "arguments")}};
        }
        append(json::object{{"role", "assistant"}, {"content", text}, {"function_call", fc}});
      } else {
        append(json::object{{"role", "assistant"}, {"content", text}});
      }
    } else if (role == "tool" || role == "function") {
      if (!tools) {
        append(json::object{{"role", "user"}, {"content", text}});
        continue;
      }
      std::string name = text_field(m, "name");
      if (const auto* id = m.if_contains("tool_call_id"); id != nullptr && id->is_string()) {
        if (auto it = call_names.find(std::string(id->as_string())); it != call_names.end()) {
          name = it->second;
        }
      }
      append(json::object{{"role", "function"}, {"name", name}, {"content", text}});
    } else {
      append(json::object{{"role", "user"}, {"content", text}});
    }
  }
  // The list starts with the user and ends with the user's side (user or function result).
  auto first = std::find_if(out.begin(), out.end(),
                            [](const json::value& m) { return role_of(m.as_object()) == "user"; });
  out.erase(out.begin(), first);
  while (!out.empty() && role_of(out.back().as_object()) == "assistant") out.pop_back();
  if (out.empty()) {
    return Error::invalid_param("messages", "baidu legacy models need at least one user message",
                                "invalid_messages");
  }
  return out;
}

std::string_view finish_reason(const json::object& answer, bool tool_call) {
  if (tool_call) return "tool_calls";
  if (const auto* clear = answer.if_contains("need_clear_history");
      clear != nullptr && clear->is_bool() && clear->as_bool()) {
    return "content_filter";  // the turn was blocked; `result` holds a canned refusal
  }
  const auto* fr = answer.if_contains("finish_reason");
  const std::string_view r =
      fr != nullptr && fr->is_string() ? std::string_view(fr->as_string()) : std::string_view();
  if (r == "length") return "length";
  if (r == "content_filter") return "content_filter";
  if (r == "function_call") return "tool_calls";
  return "stop";  // normal, stop, or none given
}

// {"name","arguments","thoughts"} as an OpenAI tool call; the id is made from the answer's.
json::object tool_call(const json::object& answer, const json::object& fc) {
  const auto* id = answer.if_contains("id");
  const std::string call_id =
      "call_" + (id != nullptr && id->is_string() ? std::string(id->as_string()) : "0");
  return json::object{
      {"id", call_id},
      {"type", "function"},
      {"function", {{"name", text_field(fc, "name")}, {"arguments", text_field(fc, "arguments")}}}};
}

const json::object* function_call(const json::object& answer) {
  const auto* fc = answer.if_contains("function_call");
  return fc != nullptr && fc->is_object() ? &fc->as_object() : nullptr;
}

json::object usage_json(const json::object& answer, Usage& usage) {
  usage = Usage{};
  if (const auto* u = answer.if_contains("usage"); u != nullptr && u->is_object()) {
    usage = read_usage(u->as_object());
    // Completion tokens may be missing: total − prompt.
    if (!u->as_object().contains("completion_tokens")) {
      usage.completion_tokens = std::max<std::int64_t>(0, usage.total_tokens - usage.prompt_tokens);
    }
  }
  return json::object{{"prompt_tokens", usage.prompt_tokens},
                      {"completion_tokens", usage.completion_tokens},
                      {"total_tokens", usage.total_tokens}};
}

json::value member_or(const json::object& o, std::string_view key, json::value fallback) {
  const auto* v = o.if_contains(key);
  return v != nullptr && !v->is_null() ? *v : fallback;
}

// SSE chunks with `sentence_id`, `result` and `is_end`; no [DONE]: the chunk with
// `is_end: true` ends the answer and the upstream closes. Usage is on every chunk; only the
// last one is authoritative, so only the last one reports it.
class LegacyStreamDecoder final : public SseFilterDecoder {
 public:
  explicit LegacyStreamDecoder(std::string model)
      : SseFilterDecoder("baidu", nullptr), model_(std::move(model)) {}

 protected:
  Result<bool> event(const SseEvent& ev, std::vector<ChatDelta>& out) override {
    const std::string_view data = trim(ev.data);
    if (data.empty()) return false;
    if (data == "[DONE]") {
      end();
      return false;
    }
    json::error_code ec;
    json::value parsed = json::parse(data, ec);
    if (ec || !parsed.is_object()) {
      return upstream_error("upstream baidu sent a malformed stream chunk" +
                            (ec ? ": " + ec.message() : std::string(" (not an object)")));
    }
    const json::object& answer = parsed.as_object();
    if (has_flat_error(answer) || read_upstream_error(answer).found) {
      return classify_legacy(200, {}, data);
    }
    const auto* is_end = answer.if_contains("is_end");
    const bool last = is_end != nullptr && is_end->is_bool() && is_end->as_bool();

    ChatDelta delta;
    json::object d;
    if (!started_) d["role"] = "assistant";
    started_ = true;
    delta.text = text_field(answer, "result");
    d["content"] = delta.text;
    if (const auto* fc = function_call(answer)) {
      json::object call = tool_call(answer, *fc);
      call["index"] = 0;
      d["tool_calls"] = json::array{std::move(call)};
      tool_call_ = true;
    }
    json::object choice{{"index", 0}, {"delta", std::move(d)}, {"finish_reason", nullptr}};
    if (last) {
      delta.finish_reason = std::string(finish_reason(answer, tool_call_));
      choice["finish_reason"] = delta.finish_reason;
    }
    json::object chunk{{"id", member_or(answer, "id", "")},
                       {"object", "chat.completion.chunk"},
                       {"created", member_or(answer, "created", 0)},
                       {"model", model_},
                       {"choices", json::array{std::move(choice)}}};
    if (last) {
      Usage usage;
      chunk["usage"] = usage_json(answer, usage);
      delta.usage = usage;
      end();
    }
    delta.chunk_json = json_text(chunk);
    out.push_back(std::move(delta));
    return false;
  }

  Error json_body(std::string_view body) override {
    json::error_code ec;
    const json::value parsed = json::parse(body, ec);
    if (!ec && parsed.is_object() &&
        (has_flat_error(parsed.as_object()) || read_upstream_error(parsed.as_object()).found)) {
      return classify_legacy(200, {}, body);
    }
    return upstream_error("upstream baidu answered a stream request with a JSON body");
  }

 private:
  std::string model_;
  bool started_ = false;
  bool tool_call_ = false;
};

}  // namespace

Result<json::object> legacy_body(const ChatRequest& request, const ProviderOptions& options) {
  const json::object& in = request.body();
  if (const auto* n = in.if_contains("n");
      n != nullptr && n->is_number() && n->to_number<double>() > 1) {
    return Error::invalid_param("n", "baidu models return a single choice; 'n' must be 1",
                                "unsupported_parameter");
  }
  std::string system;
  if (const auto* s = in.if_contains("system"); s != nullptr && s->is_string()) {
    system = std::string(s->as_string());
  }
  const auto* messages = in.if_contains("messages");
  auto translated = legacy_messages(
      messages != nullptr && messages->is_array() ? messages->as_array() : json::array(),
      options.supports_tools, system);
  if (!translated) return std::move(translated).error();

  json::object out;
  out["messages"] = std::move(translated).value();
  if (!system.empty()) out["system"] = system;
  if (request.stream) out["stream"] = true;

  // Temperature lies in (0, 1]; 0 is rejected.
  const auto* t = in.if_contains("temperature");
  if (t != nullptr && t->is_number()) {
    out["temperature"] = clamp_number(*t, 0.01, 1.0);
  } else if (options.default_temperature) {
    out["temperature"] = std::clamp(*options.default_temperature, 0.01, 1.0);
  }
  if (const auto* p = in.if_contains("top_p"); p != nullptr && p->is_number()) {
    out["top_p"] = clamp_number(*p, 0.0, 1.0);
  }
  if (const auto* ps = in.if_contains("penalty_score"); ps != nullptr && ps->is_number()) {
    out["penalty_score"] = clamp_number(*ps, 1.0, 2.0);
  } else {
    // An approximation: penalty_score ≈ 1 + the OpenAI penalty.
    for (std::string_view key : {"frequency_penalty", "presence_penalty"}) {
      const auto* p = in.if_contains(key);
      if (p == nullptr || !p->is_number()) continue;
      out["penalty_score"] = std::clamp(1.0 + p->to_number<double>(), 1.0, 2.0);
      break;
    }
  }
  for (std::string_view key : {"max_output_tokens", "max_completion_tokens", "max_tokens"}) {
    const auto* m = in.if_contains(key);
    if (m == nullptr || !m->is_number()) continue;
    // A client's fractional or huge max_tokens must not throw: clamp it as a double first.
    const double wanted = std::clamp(m->to_number<double>(), 2.0, 1e9);
    out["max_output_tokens"] = static_cast<std::int64_t>(wanted);
    break;
  }
  if (const auto* stop = in.if_contains("stop")) {
    if (stop->is_string()) out["stop"] = json::array{*stop};
    if (stop->is_array() && !stop->as_array().empty()) out["stop"] = *stop;
  }
  if (const auto* user = in.if_contains("user_id"); user != nullptr && user->is_string()) {
    out["user_id"] = *user;
  } else if (const auto* u = in.if_contains("user"); u != nullptr && u->is_string()) {
    out["user_id"] = *u;
  }
  for (std::string_view key : {"disable_search", "enable_citation"}) {
    if (const auto* v = in.if_contains(key); v != nullptr && v->is_bool()) out[key] = *v;
  }
  if (options.supports_tools) {
    json::array functions;
    if (const auto* tools = in.if_contains("tools"); tools != nullptr && tools->is_array()) {
      for (const auto& tool : tools->as_array()) {
        if (!tool.is_object()) continue;
        const auto* type = tool.as_object().if_contains("type");
        const auto* fn = tool.as_object().if_contains("function");
        if (type == nullptr || !type->is_string() || type->as_string() != "function" ||
            fn == nullptr || !fn->is_object()) {
          continue;
        }
        json::object f;
        for (std::string_view key : {"name", "description", "parameters"}) {
          if (const auto* v = fn->as_object().if_contains(key)) f[key] = *v;
        }
        functions.push_back(std::move(f));
      }
    } else if (const auto* fns = in.if_contains("functions"); fns != nullptr && fns->is_array()) {
      functions = fns->as_array();
    }
    const auto* choice = in.if_contains("tool_choice");
    const bool none = choice != nullptr && choice->is_string() && choice->as_string() == "none";
    if (!functions.empty() && !none) out["functions"] = std::move(functions);
  }
  return out;
}

Result<ChatResponse> legacy_decode(const UpstreamResponse& response, std::string_view model) {
  json::error_code ec;
  json::value parsed = json::parse(response.body, ec);
  if (ec || !parsed.is_object()) {
    return upstream_error("upstream baidu answered with a body that is not a JSON object" +
                          (ec ? ": " + ec.message() : std::string()));
  }
  const json::object& answer = parsed.as_object();
  if (has_flat_error(answer) || read_upstream_error(answer).found) {
    return classify_legacy(response.status, response.headers, response.body);
  }
  if (!answer.contains("result") && function_call(answer) == nullptr) {
    return upstream_error("upstream baidu answered without a 'result'");
  }
  json::object message{{"role", "assistant"}};
  const std::string text = text_field(answer, "result");
  const auto* fc = function_call(answer);
  message["content"] = text.empty() && fc != nullptr ? json::value(nullptr) : json::value(text);
  if (fc != nullptr) message["tool_calls"] = json::array{tool_call(answer, *fc)};

  ChatResponse out;
  json::object usage = usage_json(answer, out.usage);
  out.completion = json::object{
      {"id", member_or(answer, "id", "")},
      {"object", "chat.completion"},
      {"created", member_or(answer, "created", 0)},
      {"model", model},
      {"choices",
       json::array{json::object{{"index", 0},
                                {"message", std::move(message)},
                                {"finish_reason", finish_reason(answer, fc != nullptr)}}}},
      {"usage", std::move(usage)}};
  complete_openai_choices(out.completion);
  return out;
}

std::unique_ptr<StreamDecoder> legacy_stream_decoder(std::string model) {
  return std::make_unique<LegacyStreamDecoder>(std::move(model));
}

}  // namespace bc::providers::baidu
