#include "config/yaml_reader.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <utility>

#include "config/suggest.h"

namespace bc::config::detail {

namespace {

std::string format_number(double v) {
  char buf[64];
  auto r = std::to_chars(buf, buf + sizeof buf, v);
  return std::string(buf, r.ptr);
}

std::string quoted(std::string_view s) {
  constexpr std::size_t kMax = 60;
  if (s.size() > kMax) return "\"" + std::string(s.substr(0, kMax)) + "…\"";
  return "\"" + std::string(s) + "\"";
}

// Parses all of `s` as T with from_chars; a leading '+' is allowed.
template <class T>
std::optional<T> parse_whole(std::string_view s) {
  if (!s.empty() && s[0] == '+') s.remove_prefix(1);
  if (s.empty()) return std::nullopt;
  T v{};
  const auto r = std::from_chars(s.data(), s.data() + s.size(), v);
  if (r.ec != std::errc() || r.ptr != s.data() + s.size()) return std::nullopt;
  return v;
}

std::string int_bounds_text(std::int64_t min, std::int64_t max) {
  const bool open_top = max >= std::numeric_limits<int>::max();
  if (open_top && min == 1) return "must be > 0";
  if (open_top) return "must be >= " + std::to_string(min);
  return "must be between " + std::to_string(min) + " and " + std::to_string(max);
}

std::string bounds_text(const Bounds& b) {
  const std::string lo = (b.min_exclusive ? "> " : ">= ") + format_number(b.min);
  if (std::isinf(b.max)) return "must be " + lo;
  const std::string hi = (b.max_exclusive ? "< " : "<= ") + format_number(b.max);
  if (b.min_exclusive || b.max_exclusive) return "must be " + lo + " and " + hi;
  return "must be between " + format_number(b.min) + " and " + format_number(b.max);
}

}  // namespace

int line_of(const YAML::Node& node) {
  if (!node.IsDefined()) return 0;
  const YAML::Mark m = node.Mark();
  return m.line < 0 ? 0 : m.line + 1;
}

std::string join_path(std::string_view parent, std::string_view key) {
  if (parent.empty()) return std::string(key);
  std::string out(parent);
  out += '.';
  out += key;
  return out;
}

void Diagnostics::add(int line, std::string path, std::string message) {
  issues_.push_back(ConfigIssue{file_, line, std::move(path), std::move(message)});
}

std::vector<ConfigIssue> Diagnostics::sorted() const {
  auto out = issues_;
  std::stable_sort(out.begin(), out.end(),
                   [](const ConfigIssue& a, const ConfigIssue& b) { return a.line < b.line; });
  return out;
}

std::string Reader::describe(const YAML::Node& node) {
  switch (node.Type()) {
    case YAML::NodeType::Map:
      return "a mapping";
    case YAML::NodeType::Sequence:
      return "a list";
    case YAML::NodeType::Scalar:
      return quoted(node.Scalar());
    default:
      return "nothing";
  }
}

std::string Reader::shown(const Scalar& s) {
  if (!s.substituted) return quoted(s.raw);
  // A long value that came from the environment is likely a secret: give only its length.
  constexpr std::size_t kShowUpTo = 16;
  if (s.value.size() <= kShowUpTo) return quoted(s.value) + " (from " + quoted(s.raw) + ")";
  return "a " + std::to_string(s.value.size()) + "-character value (from " + quoted(s.raw) + ")";
}

std::optional<Reader::Scalar> Reader::scalar(const YAML::Node& node, int line,
                                             const std::string& path, std::string_view expected) {
  if (!node.IsScalar()) {
    diag_.add(line, path, "expected " + std::string(expected) + ", got " + describe(node));
    return std::nullopt;
  }
  Expansion e = expand_env(node.Scalar(), env_);
  if (!e.errors.empty()) {
    for (auto& m : e.errors) diag_.add(line, path, std::move(m));
    return std::nullopt;
  }
  return Scalar{node.Scalar(), std::move(e.text), e.substituted};
}

std::optional<std::string> Reader::string(const YAML::Node& node, int line, const std::string& path,
                                          bool non_empty) {
  auto s = scalar(node, line, path, "a string");
  if (!s) return std::nullopt;
  if (non_empty && s->value.empty()) {
    diag_.add(line, path,
              s->substituted ? "must not be empty (" + quoted(s->raw) + " gives an empty string)"
                             : std::string("must not be empty"));
    return std::nullopt;
  }
  return std::move(s->value);
}

std::optional<std::int64_t> Reader::integer(const YAML::Node& node, int line,
                                            const std::string& path, std::int64_t min,
                                            std::int64_t max) {
  auto s = scalar(node, line, path, "an integer");
  if (!s) return std::nullopt;
  const auto v = parse_whole<std::int64_t>(s->value);
  if (!v) {
    diag_.add(line, path, "expected an integer, got " + shown(*s));
    return std::nullopt;
  }
  if (*v < min || *v > max) {
    diag_.add(line, path, int_bounds_text(min, max) + ", got " + std::to_string(*v));
    return std::nullopt;
  }
  return v;
}

std::optional<double> Reader::number(const YAML::Node& node, int line, const std::string& path,
                                     Bounds bounds) {
  auto s = scalar(node, line, path, "a number");
  if (!s) return std::nullopt;
  const auto v = parse_whole<double>(s->value);
  if (!v || !std::isfinite(*v)) {
    diag_.add(line, path, "expected a number, got " + shown(*s));
    return std::nullopt;
  }
  const bool low = bounds.min_exclusive ? *v <= bounds.min : *v < bounds.min;
  const bool high = bounds.max_exclusive ? *v >= bounds.max : *v > bounds.max;
  if (low || high) {
    diag_.add(line, path, bounds_text(bounds) + ", got " + format_number(*v));
    return std::nullopt;
  }
  return v;
}

std::optional<bool> Reader::boolean(const YAML::Node& node, int line, const std::string& path) {
  auto s = scalar(node, line, path, "true or false");
  if (!s) return std::nullopt;
  const std::string& v = s->value;
  if (v == "true" || v == "True" || v == "TRUE") return true;
  if (v == "false" || v == "False" || v == "FALSE") return false;
  diag_.add(line, path, "expected true or false, got " + shown(*s));
  return std::nullopt;
}

std::optional<std::uint64_t> Reader::size(const YAML::Node& node, int line, const std::string& path,
                                          std::uint64_t min) {
  auto s = scalar(node, line, path, "a size");
  if (!s) return std::nullopt;
  std::string_view text = s->value;
  const std::size_t digits_end = text.find_first_not_of("0123456789");
  const std::string_view digits = text.substr(0, digits_end);
  std::string_view unit = digits_end == std::string_view::npos ? "" : text.substr(digits_end);
  while (!unit.empty() && unit.front() == ' ') unit.remove_prefix(1);
  static constexpr std::pair<std::string_view, std::uint64_t> kUnits[] = {
      {"", 1},
      {"B", 1},
      {"KB", 1000},
      {"MB", 1000 * 1000},
      {"GB", 1000 * 1000 * 1000},
      {"KiB", 1024},
      {"MiB", 1024 * 1024},
      {"GiB", 1024 * 1024 * 1024}};
  std::optional<std::uint64_t> factor;
  for (const auto& [name, f] : kUnits) {
    if (unit == name) factor = f;
  }
  const auto count = parse_whole<std::uint64_t>(digits);
  if (digits.empty() || !count || !factor) {
    diag_.add(line, path,
              "expected a size in bytes (an integer, or with a unit: B, KB, MB, GB, KiB, MiB, "
              "GiB), got " +
                  shown(*s));
    return std::nullopt;
  }
  if (*count > std::numeric_limits<std::uint64_t>::max() / *factor) {
    diag_.add(line, path, "size is too large, got " + shown(*s));
    return std::nullopt;
  }
  const std::uint64_t bytes = *count * *factor;
  if (bytes < min) {
    diag_.add(line, path,
              "must be at least " + std::to_string(min) + " bytes, got " + std::to_string(bytes));
    return std::nullopt;
  }
  return bytes;
}

std::vector<Entry> entries_of(Reader& reader, const YAML::Node& map, const std::string& path) {
  std::vector<Entry> out;
  for (const auto& kv : map) {
    const YAML::Node key = kv.first;
    const int line = line_of(key);
    if (!key.IsScalar()) {
      reader.diag().add(line, path.empty() ? "(document)" : path,
                        "keys must be plain names, got " + Reader::describe(key));
      continue;
    }
    const auto dup =
        std::find_if(out.begin(), out.end(), [&](const Entry& e) { return e.key == key.Scalar(); });
    if (dup != out.end()) {
      reader.diag().add(line, join_path(path, key.Scalar()),
                        "duplicate key (first written on line " + std::to_string(dup->line) + ")");
      continue;
    }
    out.push_back(Entry{key.Scalar(), line, kv.second});
  }
  return out;
}

MapReader::MapReader(Reader& reader, const YAML::Node& node, int line, std::string path,
                     std::span<const std::string> known, const Hint& hint)
    : reader_(reader), path_(std::move(path)), line_(line) {
  if (!node.IsMap()) {
    reader_.diag().add(line_, path_.empty() ? "(document)" : path_,
                       "expected a mapping, got " + Reader::describe(node));
    return;
  }
  ok_ = true;
  for (auto& e : entries_of(reader_, node, path_)) {
    if (std::find(known.begin(), known.end(), e.key) != known.end()) {
      entries_.push_back(std::move(e));
      continue;
    }
    std::string message = "unknown key '" + e.key + "'";
    if (auto near = closest_match(e.key, known)) {
      message += " (did you mean '" + *near + "'?)";
    } else if (hint) {
      const std::string h = hint(e.key);
      if (!h.empty()) message += " (" + h + ")";
    }
    reader_.diag().add(e.line, field(e.key), std::move(message));
  }
}

const Entry* MapReader::find(std::string_view key) const {
  for (const auto& e : entries_) {
    if (e.key == key) return &e;
  }
  return nullptr;
}

void MapReader::missing(std::string_view key, std::string_view why) {
  std::string message = "missing required field";
  if (!why.empty()) message += " (" + std::string(why) + ")";
  reader_.diag().add(line_, field(key), std::move(message));
}

bool MapReader::get(std::string_view key, std::string& out, bool non_empty) {
  const Entry* e = find(key);
  if (e == nullptr) return false;
  auto v = reader_.string(e->value, e->line, field(key), non_empty);
  if (!v) return false;
  out = std::move(*v);
  return true;
}

bool MapReader::get(std::string_view key, int& out, std::int64_t min, std::int64_t max) {
  const Entry* e = find(key);
  if (e == nullptr) return false;
  auto v = reader_.integer(e->value, e->line, field(key), min, max);
  if (!v) return false;
  out = static_cast<int>(*v);
  return true;
}

bool MapReader::get(std::string_view key, double& out, Bounds bounds) {
  const Entry* e = find(key);
  if (e == nullptr) return false;
  auto v = reader_.number(e->value, e->line, field(key), bounds);
  if (!v) return false;
  out = *v;
  return true;
}

bool MapReader::get(std::string_view key, bool& out) {
  const Entry* e = find(key);
  if (e == nullptr) return false;
  auto v = reader_.boolean(e->value, e->line, field(key));
  if (!v) return false;
  out = *v;
  return true;
}

bool MapReader::get_choice(std::string_view key, std::span<const std::string> allowed,
                           std::string& out) {
  const Entry* e = find(key);
  std::string value;
  if (e == nullptr || !get(key, value)) return false;
  if (std::find(allowed.begin(), allowed.end(), value) == allowed.end()) {
    std::string list;
    for (const auto& a : allowed) list += (list.empty() ? "" : ", ") + a;
    reader_.diag().add(e->line, field(key), "'" + value + "' is not one of " + list);
    return false;
  }
  out = value;
  return true;
}

bool MapReader::get_size(std::string_view key, std::size_t& out, std::uint64_t min) {
  const Entry* e = find(key);
  if (e == nullptr) return false;
  auto v = reader_.size(e->value, e->line, field(key), min);
  if (!v) return false;
  out = static_cast<std::size_t>(*v);
  return true;
}

}  // namespace bc::config::detail
