#include "core/chat_scan.h"

#include <limits>

#include "core/json_cursor.h"

namespace bc {

namespace {

class RequestScanner : JsonCursor {
 public:
  explicit RequestScanner(std::string_view text) : JsonCursor(text) {}

  std::optional<RequestScan> run() {
    // Offsets are 32-bit; a body that large is far above any configured limit anyway.
    if (static_cast<std::size_t>(end_ - p_) > std::numeric_limits<std::uint32_t>::max()) {
      return std::nullopt;
    }
    scan_.members.reserve(8);
    skip_space();
    if (!at('{') || !top_level()) return std::nullopt;
    skip_space();
    if (!at_end() || !has_messages_) return std::nullopt;
    return std::move(scan_);
  }

 private:
  bool top_level() {
    ++p_;
    skip_space();
    if (at('}')) return false;  // no `messages`
    for (;;) {
      skip_space();
      if (!at('"')) return false;
      ++p_;
      // A key with escapes would have to be decoded to compare and re-encoded to relay.
      const char* key = p_;
      p_ = json_plain_run_end(p_, end_);
      if (!at('"')) return false;
      const std::string_view name(key, static_cast<std::size_t>(p_ - key));
      ++p_;
      if (!colon()) return false;
      for (const auto& m : scan_.members) {
        if (m.key_size == name.size() && std::string_view(begin_ + m.key_begin, m.key_size) == name)
          return false;  // a repeat: the tree keeps one of them
      }
      RequestScan::Member member;
      member.key_begin = static_cast<std::uint32_t>(key - begin_);
      member.key_size = static_cast<std::uint32_t>(name.size());
      member.value_begin = static_cast<std::uint32_t>(offset());
      if (!value(name)) return false;
      member.value_size = static_cast<std::uint32_t>(offset()) - member.value_begin;
      scan_.members.push_back(member);
      bool closed = false;
      if (!next_or_close('}', closed)) return false;
      if (closed) return true;
    }
  }

  // A top-level member's value, read when it is one the gateway needs. A wrong type is "not
  // sure": the tree path names the error.
  bool value(std::string_view name) {
    if (name == "messages") return messages();
    if (name == "model") {
      if (at('n')) return literal("null");
      if (!at('"')) return false;
      ++p_;
      return string(&scan_.model);
    }
    if (name == "stream") {
      if (at('t')) return scan_.stream = literal("true");
      if (at('f')) return literal("false");
      return literal("null");
    }
    if (name == "tools") {
      if (at('n')) return literal("null");
      if (!at('[')) return false;
      const char* open = p_;
      if (!skip_array(1)) return false;
      scan_.has_tools = p_ - open > 2 && !empty_array(open);
      return true;
    }
    if (name == "max_tokens") return token_limit(scan_.max_tokens);
    if (name == "max_completion_tokens") return token_limit(scan_.max_completion_tokens);
    return skip_value(0);
  }

  // Whether the valid array text starting at `open` holds no element (only space inside).
  bool empty_array(const char* open) const {
    for (const char* c = open + 1; c < p_ - 1; ++c) {
      if (*c != ' ' && *c != '\t' && *c != '\n' && *c != '\r') return false;
    }
    return true;
  }

  // max_tokens and the like: read when a number (the tree counts only integers, and the scan
  // reads only plain ones), skipped when any other type (the tree ignores those).
  bool token_limit(std::optional<std::int64_t>& out) {
    const char c = *p_;
    if (c == '-' || (c >= '0' && c <= '9')) {
      std::int64_t n = 0;
      if (!number(&n)) return false;
      out = n;
      return true;
    }
    return skip_value(0);
  }

  // `messages`: a non-empty array of objects, each with a string `role`.
  bool messages() {
    if (!at('[')) return false;
    int count = 0;
    const auto counted_message = [this, &count] {
      ++count;
      return message();
    };
    if (!array_of(1, counted_message) || count == 0) return false;
    has_messages_ = true;
    return true;
  }

  bool message() {
    constexpr int kDepth = 2;  // inside the request object and the messages array
    if (!at('{')) return false;
    ++p_;
    skip_space();
    bool has_role = false;
    bool has_content = false;
    if (at('}')) return false;  // no role
    for (;;) {
      skip_space();
      if (!at('"')) return false;
      ++p_;
      std::string_view key;
      if (!string_view_of(key, scratch_) || !colon()) return false;
      if (key == "role") {
        if (has_role || !at('"')) return false;
        has_role = true;
        ++p_;
        if (!string(nullptr)) return false;
      } else if (key == "content") {
        if (has_content) return false;
        has_content = true;
        if (at('"')) {
          ++p_;
          scratch_.clear();
          if (!string(&scratch_)) return false;
          scan_.content_chars += static_cast<std::int64_t>(scratch_.size());
        } else if (!skip_value(kDepth)) {
          return false;
        }
      } else if (!skip_value(kDepth)) {
        return false;
      }
      bool closed = false;
      if (!next_or_close('}', closed)) return false;
      if (closed) return has_role;
    }
  }

  RequestScan scan_;
  std::string scratch_;  // a message key with escapes, a message's content
  bool has_messages_ = false;
};

}  // namespace

std::optional<RequestScan> scan_chat_request(std::string_view text) {
  return RequestScanner(text).run();
}

}  // namespace bc
