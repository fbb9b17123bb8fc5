#include "providers/adapter_util.h"

#include <charconv>

#include <boost/json.hpp>

#include "providers/upstream_error.h"

namespace bc::providers {

Error business_error(std::string_view provider, int status, std::string_view upstream_code,
                     std::string_view message, const CodeClass& cls) {
  Error e;
  e.kind = cls.kind;
  e.code = std::string(cls.code);
  e.retryable = cls.retryable;
  e.key_action = cls.action;
  e.cooldown = cls.cooldown;
  e.source = "upstream:" + std::string(provider);
  e.message = "upstream " + std::string(provider) + " ";
  e.message += status >= 200 && status < 300 ? "reported an error"
                                             : "answered HTTP " + std::to_string(status);
  e.message += " (code " + std::string(upstream_code) + ")";
  if (!message.empty()) {
    e.message += ": ";
    e.message += message;
  }
  return e;
}

std::optional<std::int64_t> parse_code(std::string_view text) {
  std::int64_t value = 0;
  const auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (text.empty() || ec != std::errc() || ptr != text.data() + text.size()) return std::nullopt;
  return value;
}

std::chrono::milliseconds until_shanghai_midnight(const Headers& headers) {
  const auto utc = utc_seconds_of_day(headers);
  if (!utc) return std::chrono::hours(1);
  const int local = (*utc + 8 * 3600) % 86400;
  return std::chrono::seconds(86400 - local);
}

std::string content_text(const boost::json::value& content) {
  if (content.is_string()) return std::string(content.as_string());
  std::string out;
  if (!content.is_array()) return out;
  for (const auto& part : content.as_array()) {
    if (!part.is_object()) continue;
    const auto* type = part.as_object().if_contains("type");
    const auto* text = part.as_object().if_contains("text");
    if (type != nullptr && type->is_string() && type->as_string() == "text" && text != nullptr &&
        text->is_string()) {
      out.append(text->as_string().data(), text->as_string().size());
    }
  }
  return out;
}

// ---- SseFilterDecoder ----

SseFilterDecoder::SseFilterDecoder(std::string_view provider, std::unique_ptr<StreamDecoder> inner)
    : provider_(provider), inner_(std::move(inner)) {}

Error SseFilterDecoder::stream_error(std::string message) const {
  Error e = Error::upstream(std::move(message));
  e.source = "upstream:" + provider_;
  return e;
}

Status SseFilterDecoder::fail(Error error) {
  failed_ = true;
  error_ = error;
  return error;
}

Status SseFilterDecoder::feed(std::string_view bytes, std::vector<ChatDelta>& out) {
  if (failed_) return error_;
  if (done_) return {};
  pending_.clear();
  if (mode_ == Mode::kUnknown) {
    const auto first = bytes.find_first_not_of(" \t\r\n");
    if (first == std::string_view::npos) {
      if (body_.size() + bytes.size() > SseParser::kDefaultMaxEventBytes) {
        return fail(stream_error("upstream " + provider_ + " sent only blank bytes"));
      }
      body_.append(bytes);
      return {};
    }
    mode_ = bytes[first] == '{' ? Mode::kJson : Mode::kSse;
    if (mode_ == Mode::kSse) {
      // The blank head goes to the parser too: a partial line of spaces still counts.
      const Status head = parser_.feed(body_, pending_);
      body_.clear();
      if (!head) return fail(head.error());
    }
  }
  if (mode_ == Mode::kJson) {
    if (body_.size() + bytes.size() > SseParser::kDefaultMaxEventBytes) {
      return fail(stream_error("upstream " + provider_ + " sent a JSON body longer than " +
                               std::to_string(SseParser::kDefaultMaxEventBytes) + " bytes"));
    }
    body_.append(bytes);
    return {};
  }
  const Status parsed = parser_.feed(bytes, pending_);
  // Events completed before a parser error are still valid: decode them first.
  if (Status st = events(out); !st) return st;
  if (!parsed) {
    Error e = parsed.error();
    e.source = "upstream:" + provider_;
    return fail(std::move(e));
  }
  return {};
}

Status SseFilterDecoder::finish(std::vector<ChatDelta>& out) {
  if (failed_) return error_;
  if (done_) return {};
  if (mode_ == Mode::kJson) return fail(json_body(body_));
  pending_.clear();
  if (const Status parsed = parser_.finish(pending_); !parsed) {
    Error e = parsed.error();
    e.source = "upstream:" + provider_;
    return fail(std::move(e));
  }
  if (Status st = events(out); !st) return st;
  if (done_) return {};
  if (inner_ != nullptr) {
    if (Status st = inner_->finish(out); !st) return fail(std::move(st).error());
    if (inner_->done()) {
      inner_done(out);
      done_ = true;
      return {};
    }
  }
  return fail(stream_error("upstream " + provider_ + " stream ended before its end marker"));
}

Status SseFilterDecoder::events(std::vector<ChatDelta>& out) {
  for (const auto& ev : pending_) {
    if (done_) break;
    auto handled = event(ev, out);
    if (!handled) return fail(std::move(handled).error());
    if (!*handled) continue;
    if (inner_ == nullptr) continue;
    if (Status st = forward(ev, out); !st) return fail(std::move(st).error());
  }
  pending_.clear();
  return {};
}

Status SseFilterDecoder::forward(const SseEvent& ev, std::vector<ChatDelta>& out) {
  std::string frame;
  if (!ev.name.empty()) frame += "event: " + ev.name + "\n";
  std::string_view data = ev.data;
  for (;;) {
    const auto lf = data.find('\n');
    frame += "data: ";
    frame.append(data.substr(0, lf));
    frame += '\n';
    if (lf == std::string_view::npos) break;
    data.remove_prefix(lf + 1);
  }
  frame += '\n';
  if (Status st = inner_->feed(frame, out); !st) return st;
  if (inner_->done()) {
    inner_done(out);
    done_ = true;
  }
  return {};
}

}  // namespace bc::providers
