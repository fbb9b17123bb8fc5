// The OpenAI stream decoder: SSE events of chat.completion.chunk objects, relayed as the
// upstream's own bytes when they need no change (see providers/openai.h).
#include <algorithm>
#include <array>
#include <functional>
#include <type_traits>

#include <boost/json.hpp>

#include "core/json_text.h"
#include "core/trim.h"
#include "providers/chunk_scan.h"
#include "providers/openai.h"
#include "providers/upstream_error.h"

namespace bc::providers {

namespace json = boost::json;

namespace {

constexpr std::string_view kMalformedChunk = "invalid_upstream_chunk";

// Whether deltas of this type may be lent: those of feed_relay(), not those of feed().
template <class Delta>
constexpr bool kLends = std::is_same_v<Delta, RelayDelta>;

// Parses one stream chunk into memory of this thread that the next chunk reuses. Used only
// for the length of one synchronous call; the parsed value must die before the arena.
class ChunkArena {
 public:
  ChunkArena() : resource_(buffer().data(), buffer().size()) {}
  json::value parse(std::string_view text, json::error_code& ec) {
    json::parser& p = parser();
    p.reset(json::storage_ptr(&resource_));
    try {
      p.write(text.data(), text.size(), ec);  // the whole text: trailing bytes are an error
    } catch (...) {
      p.reset();  // never keep a pointer to this arena's resource
      throw;
    }
    json::value parsed = ec ? json::value(nullptr) : p.release();
    p.reset();  // drops its pointer to this arena's resource
    return parsed;
  }

 private:
  // Most chunks are a few hundred bytes; a larger tree spills into heap blocks that the
  // resource frees when this arena ends.
  static std::array<unsigned char, 8192>& buffer() {
    thread_local std::array<unsigned char, 8192> bytes;
    return bytes;
  }
  // Keeps its parse stack between chunks.
  static json::parser& parser() {
    thread_local json::parser p;
    return p;
  }
  json::monotonic_resource resource_;
};

}  // namespace

Error OpenAiStreamDecoder::stream_error(std::string message) const {
  return tag(Error::upstream(std::move(message)));
}

Error OpenAiStreamDecoder::tag(Error e) const {
  e.source = "upstream:" + std::string(dialect_.provider);
  return e;
}

Status OpenAiStreamDecoder::fail(Error error) {
  failed_ = true;
  fed_ = {};
  error_ = error;
  return error;
}

Status OpenAiStreamDecoder::adjust(json::object&, bool&) {
  return {};
}

Status OpenAiStreamDecoder::feed(std::string_view bytes, std::vector<ChatDelta>& out) {
  return decode(bytes, out);
}

Status OpenAiStreamDecoder::feed_relay(std::string_view bytes, std::vector<RelayDelta>& out) {
  return decode(bytes, out);
}

template <class Delta>
Status OpenAiStreamDecoder::decode(std::string_view bytes, std::vector<Delta>& out) {
  if (failed_) return error_;
  // The chunks one read brought are scanned as a sequence, each against the one before it.
  // Per thread, not per stream, so an open stream holds no copy of its last chunk; nothing
  // here suspends, so no other stream uses it meanwhile.
  thread_local ChunkSequenceScanner chunks;
  chunks.forget();
  // Anything after [DONE] carries nothing. Events completed before a parser error are
  // decoded before it is reported.
  fed_ = bytes;
  const bool repeats = !adjusts_chunks();
  while (!done_) {
    if (repeats) {
      if (const std::size_t used = whole_event(bytes, out, chunks)) {
        bytes.remove_prefix(used);
        continue;
      }
    }
    auto ev = parser_.next(bytes);
    if (!ev) return fail(tag(ev.error()));
    if (!*ev) break;
    if (const Status st = event(**ev, out, &chunks); !st) return fail(st.error());
  }
  fed_ = {};
  return {};
}

Status OpenAiStreamDecoder::finish(std::vector<ChatDelta>& out) {
  if (failed_) return error_;
  if (done_) return {};
  std::vector<SseEvent> pending;
  if (const Status parsed = parser_.finish(pending); !parsed) {
    return fail(tag(parsed.error()));
  }
  // An event the upstream did not close with an empty line: honour [DONE] and whole chunks,
  // but a chunk cut in half is reported as the cut stream it is.
  for (const auto& ev : pending) {
    if (done_) break;
    std::vector<ChatDelta> decoded;
    if (const Status st = event(SseEventView{.name = ev.name, .data = ev.data}, decoded, nullptr);
        !st) {
      if (st.error().code != kMalformedChunk) return fail(st.error());
      break;
    }
    for (auto& d : decoded) out.push_back(std::move(d));
  }
  if (done_) return {};
  return fail(stream_error("upstream stream ended before [DONE]"));
}

template <class Delta>
std::size_t OpenAiStreamDecoder::whole_event(std::string_view bytes, std::vector<Delta>& out,
                                             ChunkSequenceScanner& chunks) {
  // Exactly `data: <chunk>` LF LF, where next() would hand event() one canonical one-line
  // event with no name and `chunk` as its data. Anything else, a CR before the LF included,
  // goes the general way.
  constexpr std::string_view kData = "data: ";
  constexpr std::string_view kEventEnd = "\n\n";
  if (!bytes.starts_with(kData) || !parser_.between_events()) return 0;
  const std::string_view rest = bytes.substr(kData.size());
  const std::size_t max_chunk =
      parser_.max_event_bytes() - std::min(parser_.max_event_bytes(), kData.size());
  if (const std::size_t size = repeat_event(bytes, max_chunk, out, chunks)) {
    return kData.size() + size + kEventEnd.size();
  }
  // Another ordinary chunk: scanned in full. It must begin and end with a brace (so trim()
  // would take nothing and it is no [DONE]) and hold no CR (which the general way would not
  // relay as it is). A chunk the scan refuses goes the general way, which decides.
  const std::size_t lf = rest.find('\n');
  if (lf == std::string_view::npos || lf > max_chunk || !rest.substr(lf).starts_with(kEventEnd)) {
    return 0;
  }
  const std::string_view data = rest.substr(0, lf);
  if (data.size() < 2 || data.front() != '{' || data.back() != '}' ||
      data.find('\r') != std::string_view::npos) {
    return 0;
  }
  auto fields = chunks.scan_full(data, true);
  if (!fields) return 0;
  const std::string_view event = bytes.substr(0, kData.size() + lf + kEventEnd.size());
  relay(std::move(*fields), data, event, true, out);
  parser_.skip_event();
  ++events_read_whole_;
  return event.size();
}

template <class Delta>
std::size_t OpenAiStreamDecoder::repeat_event(std::string_view bytes, std::size_t max_chunk,
                                              std::vector<Delta>& out,
                                              ChunkSequenceScanner& chunks) {
  // A repeat's bytes outside its content string are the previous chunk's, which began and
  // ended with a brace and held no line break; the content string holds none either.
  constexpr std::string_view kData = "data: ";
  constexpr std::string_view kEventEnd = "\n\n";
  if (!chunks.has_last()) return 0;
  const std::string_view rest = bytes.substr(kData.size());
  RelayDelta* run = nullptr;
  if constexpr (kLends<Delta>) run = run_before(bytes.data(), out, chunks);
  std::string& text = run != nullptr ? run->text : out.emplace_back().text;
  // Read without looking for the line's end first: the repeat's own bytes end it.
  const std::size_t size = chunks.repeat(rest, kEventEnd, max_chunk, true, text);
  if (size == 0) {
    if (run == nullptr) out.pop_back();
    return 0;
  }
  const std::string_view data = rest.substr(0, size);
  const std::string_view event = bytes.substr(0, kData.size() + size + kEventEnd.size());
  if (run != nullptr) {
    // The run grows by this event: its text (appended above) and its bytes.
    run->lent_event =
        std::string_view(run->lent_event.data(), run->lent_event.size() + event.size());
    ++run->chunks;
  } else {
    // Built in place: a delta is four strings, and moving one into the vector cost about as
    // much as filling it.
    Delta& delta = out.back();
    if (!chunks.finish_reason().empty()) delta.finish_reason = chunks.finish_reason();
    delta.usage = chunks.usage();
    if constexpr (kLends<Delta>) {
      delta.lent_chunk = data;
      delta.lent_event = event;
    } else {
      delta.chunk_json.assign(data);
    }
  }
  parser_.skip_event();
  ++events_read_whole_;
  return size;
}

RelayDelta* OpenAiStreamDecoder::run_before(const char* event, std::vector<RelayDelta>& out,
                                            const ChunkSequenceScanner& chunks) const {
  // The delta before is this feed's and its bytes end where `event` begins: no event lies
  // between, so the chunk the scanner holds, which `event` repeats, is that delta's last. A
  // run is ordinary content: text (so the forwarder never holds it back as role-only), no
  // finish reason, no usage.
  if (!merge_runs_ || out.empty() || !chunks.finish_reason().empty() || chunks.usage()) {
    return nullptr;
  }
  RelayDelta& last = out.back();
  const std::less_equal<const char*> le;
  const bool adjoins = !last.lent_event.empty() &&
                       last.lent_event.data() + last.lent_event.size() == event &&
                       le(fed_.data(), last.lent_event.data());
  if (!adjoins || last.text.empty() || !last.finish_reason.empty() || last.usage) return nullptr;
  return &last;
}

template <class Delta>
void OpenAiStreamDecoder::relay(ChunkFields&& fields, std::string_view data, std::string_view raw,
                                bool in_fed, std::vector<Delta>& out) const {
  // Built in place: a delta is four strings, and moving one into the vector cost about as much
  // as filling it.
  Delta& delta = out.emplace_back();
  delta.text = std::move(fields.text);
  if (!fields.finish_reason.empty()) delta.finish_reason = std::move(fields.finish_reason);
  delta.usage = fields.usage;
  // Lent only when the bytes are the caller's: an event cut across two reads lies in the
  // parser's own buffer, which the next event reuses.
  if constexpr (kLends<Delta>) {
    if (in_fed) {
      delta.lent_chunk = data;
      delta.lent_event = raw;
      return;
    }
  }
  delta.chunk_json.assign(data);
}

template <class Delta>
Status OpenAiStreamDecoder::event(SseEventView ev, std::vector<Delta>& out,
                                  ChunkSequenceScanner* chunks) {
  if (ev.name == "error") return dialect_.classify(200, {}, ev.data);
  const std::string_view data = trim(ev.data);
  if (data.empty()) return {};
  if (data == "[DONE]") {
    done_ = true;
    return {};
  }
  // The ordinary chunk, relayed unchanged: its fields are read without building a tree.
  // Everything else (a chunk to normalize or to adjust, an error report, a malformed chunk)
  // takes the tree path below, which is the reference the scan agrees with.
  // A chunk with a line break inside takes the tree path too: relayed as it is, it would
  // end its `data:` line early.
  const auto line_break = [&] {
    return (!ev.one_line && data.find('\n') != std::string_view::npos) ||
           data.find('\r') != std::string_view::npos;
  };
  if (!adjusts_chunks()) {
    // The caller's bytes stay for the whole feed(), and `chunks` lives for one feed().
    // (std::less_equal: an ordering of pointers that is defined even across buffers.)
    const std::less_equal<const char*> le;
    const bool in_fed = !fed_.empty() && le(fed_.data(), data.data()) &&
                        le(data.data() + data.size(), fed_.data() + fed_.size());
    // A repeat of the previous chunk needs no line-break check: it has the previous
    // chunk's bytes, which passed it, around a string that cannot hold one.
    std::optional<ChunkFields> fields =
        chunks != nullptr ? chunks->scan_repeat(data, in_fed) : std::nullopt;
    if (!fields && !line_break()) {
      fields = chunks != nullptr ? chunks->scan_full(data, in_fed) : scan_chunk(data);
    }
    if (fields) {
      // The whole event is lent too when the upstream framed it as the client gets it.
      const bool framed = !ev.raw.empty() && data.size() == ev.data.size();
      relay(std::move(*fields), data, framed ? ev.raw : std::string_view{}, in_fed, out);
      return {};
    }
  }
  // The chunk's tree lives in a per-thread arena for the length of this call (nothing below
  // suspends, and every field kept is copied out): no malloc and free per JSON node.
  ChunkArena arena;
  json::error_code ec;
  json::value parsed = arena.parse(data, ec);
  if (ec || !parsed.is_object()) {
    Error e = stream_error("upstream sent a malformed stream chunk" +
                           (ec ? ": " + ec.message() : std::string(" (not an object)")));
    e.code = kMalformedChunk;
    return e;
  }
  json::object& chunk = parsed.as_object();
  if (read_upstream_error(chunk).found) return dialect_.classify(200, {}, data);

  bool changed = false;
  const auto* choices = chunk.if_contains("choices");
  if (choices == nullptr || choices->is_null()) {
    chunk["choices"] = json::array();
    changed = true;
  } else if (!choices->is_array()) {
    Error e = stream_error("upstream sent a stream chunk whose 'choices' is not an array");
    e.code = kMalformedChunk;
    return e;
  }
  if (!chunk.contains("object")) {
    chunk["object"] = "chat.completion.chunk";
    changed = true;
  }
  if (Status st = adjust(chunk, changed); !st) return st;

  Delta delta;
  for (const auto& choice : chunk.at("choices").as_array()) {
    if (!choice.is_object()) continue;
    const auto& c = choice.as_object();
    if (const auto* d = c.if_contains("delta"); d != nullptr && d->is_object()) {
      if (const auto* content = d->as_object().if_contains("content");
          content != nullptr && content->is_string()) {
        delta.text.append(content->as_string().data(), content->as_string().size());
      }
    }
    if (const auto* fr = c.if_contains("finish_reason");
        fr != nullptr && fr->is_string() && delta.finish_reason.empty()) {
      delta.finish_reason = std::string(fr->as_string());
    }
    // Moonshot reports usage inside the finishing choice.
    if (const auto* u = c.if_contains("usage"); u != nullptr && u->is_object()) {
      delta.usage = read_usage(u->as_object());
    }
  }
  if (const auto* u = chunk.if_contains("usage"); u != nullptr && u->is_object()) {
    delta.usage = read_usage(u->as_object());
  }
  // A multi-line `data:` event joins its lines with a line feed; relayed raw it
  // would break the SSE framing towards the client, so such a chunk is rewritten.
  // (Two memchr scans: find_first_of of a set tests the set once per byte, far slower.)
  if (changed || line_break()) {
    delta.chunk_json = json_text(chunk);
  } else {
    delta.chunk_json.assign(data);  // relayed as the upstream sent it
  }
  out.push_back(std::move(delta));
  return {};
}

}  // namespace bc::providers
