#include "providers/chunk_scan.h"

#include <cstdint>
#include <limits>

#include <boost/container/static_vector.hpp>
#include <boost/json/basic_parser_impl.hpp>
#include <boost/json/value.hpp>

#include "providers/native.h"

namespace bc::providers {

namespace json = boost::json;

namespace {

// What a JSON container is, by where it sits in the chunk.
enum class Role : unsigned char { kOther, kRoot, kChoices, kChoice, kDelta, kUsage };

// The members the scan reads (anything else is skipped over, whatever it holds).
enum class Key : unsigned char {
  kOther,
  kChoices,
  kUsage,
  kObject,
  kReject,  // `error`, `code`: an error report, for the tree path to classify
  kDelta,
  kFinishReason,
  kContent,
  kPromptTokens,
  kCompletionTokens,
  kTotalTokens,
};

Key classify(Role parent, std::string_view key) {
  switch (parent) {
    case Role::kRoot:
      if (key == "choices") return Key::kChoices;
      if (key == "usage") return Key::kUsage;
      if (key == "object") return Key::kObject;
      if (key == "error" || key == "code") return Key::kReject;
      return Key::kOther;
    case Role::kChoice:
      if (key == "delta") return Key::kDelta;
      if (key == "finish_reason") return Key::kFinishReason;
      if (key == "usage") return Key::kUsage;
      return Key::kOther;
    case Role::kDelta:
      return key == "content" ? Key::kContent : Key::kOther;
    case Role::kUsage:
      if (key == "prompt_tokens") return Key::kPromptTokens;
      if (key == "completion_tokens") return Key::kCompletionTokens;
      if (key == "total_tokens") return Key::kTotalTokens;
      return Key::kOther;
    default:
      return Key::kOther;
  }
}

// One open object or array: its role, the member whose value comes next (objects), and
// which of the read members were seen (a second one makes the chunk the tree path's).
struct Frame {
  Role role = Role::kOther;
  Key key = Key::kOther;
  std::uint16_t seen = 0;
};

// One usage object as read_usage() reads it: missing or non-numbers count 0, and total is
// prompt + completion unless it is a number.
struct UsageScan {
  json::value prompt, completion, total;
  Usage result() const {
    Usage u;
    u.prompt_tokens = json_int(&prompt);
    u.completion_tokens = json_int(&completion);
    u.total_tokens = total.is_number() ? json_int(&total) : u.prompt_tokens + u.completion_tokens;
    return u;
  }
};

class Handler {
 public:
  static constexpr std::size_t max_object_size = std::numeric_limits<std::size_t>::max();
  static constexpr std::size_t max_array_size = std::numeric_limits<std::size_t>::max();
  static constexpr std::size_t max_key_size = std::numeric_limits<std::size_t>::max();
  static constexpr std::size_t max_string_size = std::numeric_limits<std::size_t>::max();

  bool on_document_begin(json::error_code&) { return true; }
  bool on_document_end(json::error_code&) { return true; }

  bool on_object_begin(json::error_code& ec) {
    if (stack_.empty()) return push(Role::kRoot, ec);
    Role role = Role::kOther;
    switch (value_key()) {
      case Key::kChoices:
        return reject(ec);  // `choices` must be an array
      case Key::kObject:
        return reject(ec);  // `object` must be a string
      case Key::kUsage:
        role = Role::kUsage;
        usage_ = UsageScan{};
        break;
      case Key::kDelta:
        role = Role::kDelta;
        break;
      default:
        if (parent() == Role::kChoices) role = Role::kChoice;
    }
    return push(role, ec);
  }

  bool on_object_end(std::size_t, json::error_code&) {
    const Role role = stack_.back().role;
    stack_.pop_back();
    if (role == Role::kUsage) {
      // Inside a choice (Moonshot) or at the top level, which wins (the tree path reads the
      // choices first); among choices, the last one wins.
      (parent() == Role::kRoot ? top_usage_ : choice_usage_) = usage_.result();
    }
    if (role == Role::kRoot) complete_ = true;
    return true;
  }

  bool on_array_begin(json::error_code& ec) {
    if (stack_.empty()) return reject(ec);  // not an object
    const Key key = value_key();
    if (key == Key::kObject) return reject(ec);
    if (key == Key::kChoices) has_choices_ = true;
    return push(key == Key::kChoices ? Role::kChoices : Role::kOther, ec);
  }

  bool on_array_end(std::size_t, json::error_code&) {
    stack_.pop_back();
    return true;
  }

  bool on_key_part(std::string_view part, std::size_t, json::error_code&) {
    key_.append(part);
    return true;
  }

  bool on_key(std::string_view part, std::size_t, json::error_code& ec) {
    Frame& frame = stack_.back();
    if (key_.empty()) {
      frame.key = classify(frame.role, part);
    } else {
      key_.append(part);
      frame.key = classify(frame.role, key_);
      key_.clear();
    }
    if (frame.key == Key::kReject) return reject(ec);
    if (frame.key != Key::kOther) {
      const auto bit = static_cast<std::uint16_t>(1u << static_cast<unsigned>(frame.key));
      if (frame.seen & bit) return reject(ec);  // a repeated member: last-wins is the tree's
      frame.seen |= bit;
    }
    return true;
  }

  bool on_string_part(std::string_view part, std::size_t, json::error_code&) {
    string_.append(part);
    return true;
  }

  bool on_string(std::string_view part, std::size_t, json::error_code& ec) {
    std::string_view s = part;
    if (!string_.empty()) {
      string_.append(part);
      s = string_;
    }
    const bool ok = on_scalar_string(s, ec);
    string_.clear();
    return ok;
  }

  bool on_number_part(std::string_view, json::error_code&) { return true; }
  bool on_int64(std::int64_t v, std::string_view, json::error_code& ec) {
    return on_scalar(json::value(v), ec);
  }
  bool on_uint64(std::uint64_t v, std::string_view, json::error_code& ec) {
    return on_scalar(json::value(v), ec);
  }
  bool on_double(double v, std::string_view, json::error_code& ec) {
    return on_scalar(json::value(v), ec);
  }
  bool on_bool(bool v, json::error_code& ec) { return on_scalar(json::value(v), ec); }
  bool on_null(json::error_code& ec) { return on_scalar(json::value(nullptr), ec); }
  bool on_comment_part(std::string_view, json::error_code&) { return true; }
  bool on_comment(std::string_view, json::error_code&) { return true; }

  std::optional<ChunkFields> result() {
    if (!complete_ || !has_choices_ || !has_object_) return std::nullopt;
    fields_.usage = top_usage_ ? top_usage_ : choice_usage_;
    return std::move(fields_);
  }

 private:
  Role parent() const { return stack_.empty() ? Role::kOther : stack_.back().role; }
  // The member a value being opened belongs to (kOther for array elements).
  Key value_key() const {
    if (stack_.empty()) return Key::kOther;
    const Frame& f = stack_.back();
    return f.role == Role::kChoices || f.role == Role::kOther ? Key::kOther : f.key;
  }

  bool push(Role role, json::error_code& ec) {
    if (stack_.size() == stack_.capacity()) return reject(ec);  // deeper than any chunk
    stack_.push_back({role});
    return true;
  }

  bool reject(json::error_code& ec) {
    ec = json::error::syntax;  // any error stops the parser; result() then says nullopt
    return false;
  }

  bool on_scalar_string(std::string_view s, json::error_code& ec) {
    if (stack_.empty()) return reject(ec);  // not an object
    switch (value_key()) {
      case Key::kObject:
        if (s == "error") return reject(ec);
        has_object_ = true;
        return true;
      case Key::kChoices:
        return reject(ec);
      case Key::kContent:
        fields_.text.append(s);
        return true;
      case Key::kFinishReason:
        if (fields_.finish_reason.empty()) fields_.finish_reason.assign(s);
        return true;
      default:
        return on_scalar(json::value(nullptr), ec);  // a string where a count goes counts 0
    }
  }

  bool on_scalar(json::value v, json::error_code& ec) {
    if (stack_.empty()) return reject(ec);  // not an object
    switch (value_key()) {
      case Key::kChoices:  // null or a scalar: normalized or refused by the tree path
      case Key::kObject:
        return reject(ec);
      case Key::kPromptTokens:
        usage_.prompt = std::move(v);
        return true;
      case Key::kCompletionTokens:
        usage_.completion = std::move(v);
        return true;
      case Key::kTotalTokens:
        usage_.total = std::move(v);
        return true;
      default:
        return true;
    }
  }

  // A chunk nests 4 deep (root, choices, choice, delta); anything deeper than this is left
  // to the tree path, so the stack never allocates.
  boost::container::static_vector<Frame, 16> stack_;
  std::string key_;     // a key delivered in parts
  std::string string_;  // a string delivered in parts
  UsageScan usage_;     // the usage object being read
  std::optional<Usage> top_usage_, choice_usage_;
  ChunkFields fields_;
  bool has_choices_ = false;
  bool has_object_ = false;
  bool complete_ = false;
};

}  // namespace

std::optional<ChunkFields> scan_chunk(std::string_view data) {
  if (auto fields = detail::scan_chunk_fast(data)) return fields;
  return detail::scan_chunk_sax(data);
}

std::optional<ChunkFields> detail::scan_chunk_sax(std::string_view data) {
  json::basic_parser<Handler> parser{json::parse_options{}};
  json::error_code ec;
  const std::size_t used = parser.write_some(false, data.data(), data.size(), ec);
  if (ec || used != data.size()) return std::nullopt;
  return parser.handler().result();
}

}  // namespace bc::providers
