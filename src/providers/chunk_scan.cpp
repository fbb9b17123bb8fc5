// scan_chunk(): a hand-written scanner for the chunks OpenAI-compatible upstreams send all
// the time (ASCII or UTF-8 text, escapes including `\u`, integer counts, usage at the top
// level or inside a choice).
//
// Why: a tree of each chunk (~250 bytes, ~20 nodes), or even a SAX pass of Boost.JSON's
// generic parser, only to read three fields was most of a proxied stream's CPU
// (docs/benchmarks.md has the figures). This scanner validates and reads the same chunk in a single
// tight pass. It accepts only what it can decide exactly and answers "not sure" (nullopt) for
// anything else: control characters, numbers it would have to convert, repeated members, deep
// nesting, malformed input. Those go to the tree path, so a "not sure" costs time, never a
// different answer; none of them is in the chunks upstreams send in the ordinary course. The
// fuzz target checks that whenever this scanner accepts, the tree path accepts with the same
// fields and relays the same bytes.
//
// The same scanner reads a whole non-streamed chat.completion (scan_completion): there it
// validates the answer and reads its usage in place of a JSON tree of ~60 nodes, and its "not
// sure" sends the answer to the tree path.
#include <array>
#include <cstdint>

#include "core/json_cursor.h"
#include "providers/chunk_scan.h"

namespace bc::providers::detail {

namespace {

// Where a value sits, which decides what the scanner reads from it.
enum class Place : unsigned char { kOther, kRoot, kChoice, kDelta, kUsage };

// The members read, as bits of a per-object "seen" mask (a repeat is left to the tree path).
enum Member : unsigned {
  kChoices = 1u << 0,
  kUsageMember = 1u << 1,
  kObject = 1u << 2,
  kDeltaMember = 1u << 3,
  kFinishReason = 1u << 4,
  kContent = 1u << 5,
  kPrompt = 1u << 6,
  kCompletion = 1u << 7,
  kTotal = 1u << 8,
};

// What is scanned: a stream chunk (its choices' deltas are read, `object` is required) or a
// whole chat.completion (only its top-level usage is read; `object` may be absent).
enum class Shape : unsigned char { kChunk, kCompletion };

class Scanner : JsonCursor {
 public:
  Scanner(std::string_view text, Shape shape) : JsonCursor(text), shape_(shape) {
    unicode_escapes_ = true;
  }

  std::optional<ChunkFields> run() {
    skip_space();
    if (!object(Place::kRoot, 0)) return std::nullopt;
    return finish();
  }

  // run() for a text whose bytes before `at.offset` are those of a text run() read before,
  // which took `at` there: the scan goes on from that point in the state it had.
  std::optional<ChunkFields> run_from(const ScanPoint& at) {
    p_ += at.offset;
    has_object_ = at.has_object;
    if (!members(Place::kRoot, 0, at.seen)) return std::nullopt;
    return finish();
  }

  // Where the root's `choices` member began, when nothing read before it was kept (no text,
  // finish reason or usage yet): a point run_from() can resume at.
  const std::optional<ScanPoint>& choices_point() const { return choices_point_; }

  // Where the content string read last lies, and how many were read.
  unsigned contents() const { return contents_; }
  std::size_t content_begin() const { return content_begin_; }
  std::size_t content_end() const { return content_end_; }

 private:
  // An array after p_ points at '['; the elements of `choices` are choices.
  bool array(bool choices, int depth) {
    if (!choices) return skip_array(depth);
    return array_of(depth, [this, depth] {
      return at('{') ? object(Place::kChoice, depth + 1) : skip_value(depth);
    });
  }

  // The member `key` of an object at `place`: which read member it is (0: none).
  static unsigned member(Place place, std::string_view key) {
    switch (place) {
      case Place::kRoot:
        if (key == "choices") return kChoices;
        if (key == "usage") return kUsageMember;
        if (key == "object") return kObject;
        return 0;
      case Place::kChoice:
        if (key == "delta") return kDeltaMember;
        if (key == "finish_reason") return kFinishReason;
        if (key == "usage") return kUsageMember;  // Moonshot reports usage in the choice
        return 0;
      case Place::kDelta:
        return key == "content" ? static_cast<unsigned>(kContent) : 0u;
      case Place::kUsage:
        if (key == "prompt_tokens") return kPrompt;
        if (key == "completion_tokens") return kCompletion;
        if (key == "total_tokens") return kTotal;
        return 0;
      default:
        return 0;
    }
  }

  // The value of a read member of an object at `place` (p_ at its first byte).
  bool member_value(Place place, unsigned which, int depth) {
    const char c = *p_;
    switch (which) {
      case kChoices:
        if (c != '[') return false;  // not an array: the tree path normalizes or refuses it
        has_choices_ = true;
        // A completion's choices are only validated: the relay reads nothing from them.
        return array(shape_ == Shape::kChunk, depth + 1);
      case kObject: {
        if (c != '"') return false;
        ++p_;
        std::string_view value;
        if (!string_view_of(value, scratch_) || value == "error") return false;
        has_object_ = true;
        return true;
      }
      case kUsageMember:
        if (c != '{') return skip_value(depth);  // null or anything else: no usage
        usage_ = {};
        if (!object(Place::kUsage, depth + 1)) return false;
        // At the top level, or in a choice, where the last one counts; the top level's wins
        // (finish()), as the tree path reads the choices first.
        (place == Place::kRoot ? fields_.usage : choice_usage_) =
            Usage{usage_.prompt, usage_.completion,
                  usage_.has_total ? usage_.total : usage_.prompt + usage_.completion};
        return true;
      case kDeltaMember:
        return c == '{' ? object(Place::kDelta, depth + 1) : skip_value(depth);
      case kFinishReason:
        if (c != '"') return skip_value(depth);
        ++p_;
        return string(fields_.finish_reason.empty() ? &fields_.finish_reason : nullptr);
      case kContent: {
        if (c != '"') return skip_value(depth);
        ++p_;
        ++contents_;
        content_begin_ = offset();
        if (!string(&fields_.text)) return false;
        content_end_ = offset() - 1;
        return true;
      }
      case kPrompt:
      case kCompletion:
      case kTotal: {
        if (c == '"' || c == '{' || c == '[' || c == 't' || c == 'f' || c == 'n') return false;
        std::int64_t n = 0;
        if (!number(&n)) return false;
        if (which == kPrompt) usage_.prompt = n;
        if (which == kCompletion) usage_.completion = n;
        if (which == kTotal) usage_.total = n, usage_.has_total = true;
        return true;
      }
      default:
        return skip_value(depth);
    }
  }

  std::optional<ChunkFields> finish() {
    skip_space();
    if (p_ != end_ || !has_choices_) return std::nullopt;
    if (shape_ == Shape::kChunk && !has_object_) return std::nullopt;
    if (!fields_.usage) fields_.usage = choice_usage_;
    return std::move(fields_);
  }

  // An object after p_ points at '{'.
  bool object(Place place, int depth) {
    if (depth > kMaxDepth || p_ == end_ || *p_ != '{') return false;
    ++p_;
    skip_space();
    if (p_ != end_ && *p_ == '}') {
      ++p_;
      return true;
    }
    return members(place, depth, 0);
  }

  // An object's members from the one p_ is before (after '{' or ','); `seen` those read.
  bool members(Place place, int depth, unsigned seen) {
    for (;;) {
      const char* member_start = p_;
      skip_space();
      if (p_ == end_ || *p_ != '"') return false;
      ++p_;
      std::string_view key;
      if (!string_view_of(key, scratch_)) return false;
      if (place == Place::kRoot && (key == "error" || key == "code")) return false;
      const unsigned which = member(place, key);
      if ((seen & which) != 0) return false;  // a repeat: last-wins is the tree's
      if (which == kChoices && place == Place::kRoot && shape_ == Shape::kChunk &&
          fields_.text.empty() && fields_.finish_reason.empty() && !fields_.usage &&
          contents_ == 0) {
        choices_point_ = ScanPoint{.offset = static_cast<std::size_t>(member_start - begin_),
                                   .seen = seen,
                                   .has_object = has_object_};
      }
      seen |= which;
      if (!colon() || !member_value(place, which, depth)) return false;
      bool closed = false;
      if (!next_or_close('}', closed)) return false;
      if (closed) return true;
    }
  }

  struct UsageRead {
    std::int64_t prompt = 0, completion = 0, total = 0;
    bool has_total = false;
  };

  Shape shape_;
  ChunkFields fields_;
  UsageRead usage_;
  std::optional<Usage> choice_usage_;  // the last usage inside a choice
  std::string scratch_;                // a key or `object` value that had escapes to decode
  bool has_choices_ = false;
  bool has_object_ = false;
  unsigned contents_ = 0;
  std::optional<ScanPoint> choices_point_;
  std::size_t content_begin_ = 0;  // the first byte inside the quotes
  std::size_t content_end_ = 0;    // the closing quote
};

// One string value alone, for ChunkSequenceScanner: the same step the scanner takes.
class StringAt : JsonCursor {
 public:
  explicit StringAt(std::string_view text) : JsonCursor(text) { unicode_escapes_ = true; }
  std::size_t read(std::size_t begin, std::string& out) {
    p_ += begin;
    return string(&out) ? offset() - 1 : std::string_view::npos;
  }
};

}  // namespace

std::optional<ChunkSpans> scan_chunk_spans(std::string_view data, const ScanPoint* resume) {
  Scanner scanner(data, Shape::kChunk);
  auto fields = resume != nullptr ? scanner.run_from(*resume) : scanner.run();
  if (!fields) return std::nullopt;
  ChunkSpans scan{.fields = std::move(*fields), .choices = scanner.choices_point()};
  if (scanner.contents() == 1) {
    scan.one_content = true;
    scan.content_begin = scanner.content_begin();
    scan.content_end = scanner.content_end();
  }
  return scan;
}

std::size_t content_string(std::string_view data, std::size_t begin, std::string& out) {
  return StringAt(data).read(begin, out);
}

}  // namespace bc::providers::detail

namespace bc::providers {

std::optional<ChunkFields> scan_chunk(std::string_view data) {
  return detail::Scanner(data, detail::Shape::kChunk).run();
}

std::optional<Usage> scan_completion(std::string_view body) {
  auto fields = detail::Scanner(body, detail::Shape::kCompletion).run();
  if (!fields) return std::nullopt;
  return fields->usage.value_or(Usage{});
}

}  // namespace bc::providers
