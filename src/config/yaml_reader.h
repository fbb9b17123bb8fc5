// The strict reading of a YAML tree, used by loader.cpp: scalars with ${ENV} substitution and
// type checks, mappings checked against the keys a schema knows. Every problem is recorded
// with its line and field path, and reading goes on, so one run reports them all.
#pragma once

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cstdint>
#include <functional>
#include <limits>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "config/env.h"
#include "config/loader.h"

namespace bc::config::detail {

// 1-based line of a node, or 0 when yaml-cpp has none (a node that was not in the file).
int line_of(const YAML::Node& node);

// "models" + "x" -> "models.x"; "" + "server" -> "server".
std::string join_path(std::string_view parent, std::string_view key);

class Diagnostics {
 public:
  explicit Diagnostics(std::string file) : file_(std::move(file)) {}
  void add(int line, std::string path, std::string message);
  bool empty() const { return issues_.empty(); }
  // The issues in file order (stable for issues on the same line).
  std::vector<ConfigIssue> sorted() const;

 private:
  std::string file_;
  std::vector<ConfigIssue> issues_;
};

// The inclusive or exclusive bounds of a number field.
struct Bounds {
  double min = -std::numeric_limits<double>::infinity();
  bool min_exclusive = false;
  double max = std::numeric_limits<double>::infinity();
  bool max_exclusive = false;
};
inline constexpr Bounds kPositive{0, true};      // above 0
inline constexpr Bounds kNonNegative{0, false};  // 0 or more

// Whether `names` holds `name` (the lists of known fields).
inline bool contains(const std::vector<std::string>& names, std::string_view name) {
  return std::find(names.begin(), names.end(), name) != names.end();
}

// One entry of a mapping: the key as written and its line, and the value.
struct Entry {
  std::string key;
  int line = 0;
  YAML::Node value;
};

class Reader {
 public:
  Reader(Diagnostics& diag, const EnvLookup& env) : diag_(diag), env_(env) {}
  Diagnostics& diag() { return diag_; }

  // Each reads `node` (found at `line`, named `path`); on a problem it reports and returns
  // nullopt.
  std::optional<std::string> string(const YAML::Node& node, int line, const std::string& path,
                                    bool non_empty);
  std::optional<std::int64_t> integer(const YAML::Node& node, int line, const std::string& path,
                                      std::int64_t min, std::int64_t max);
  std::optional<double> number(const YAML::Node& node, int line, const std::string& path,
                               Bounds bounds);
  std::optional<bool> boolean(const YAML::Node& node, int line, const std::string& path);
  // Bytes: an integer, or a number with a unit: B, KB, MB, GB (powers of 1000) or KiB, MiB,
  // GiB (powers of 1024), e.g. "8MiB" or "512 KiB".
  std::optional<std::uint64_t> size(const YAML::Node& node, int line, const std::string& path,
                                    std::uint64_t min);

  // "a mapping", "a list", "nothing", or the scalar quoted.
  static std::string describe(const YAML::Node& node);

 private:
  struct Scalar {
    std::string raw;    // as written
    std::string value;  // after substitution
    bool substituted = false;
  };
  std::optional<Scalar> scalar(const YAML::Node& node, int line, const std::string& path,
                               std::string_view expected);
  // The value for a message; a long substituted value (likely a secret) is not shown.
  static std::string shown(const Scalar& s);

  Diagnostics& diag_;
  const EnvLookup& env_;
};

// A mapping read against the keys its schema knows. Construction reports a value that is not
// a mapping, a key written twice, and every unknown key (with the closest known key, or what
// `hint` says about it).
class MapReader {
 public:
  using Hint = std::function<std::string(std::string_view key)>;

  MapReader(Reader& reader, const YAML::Node& node, int line, std::string path,
            std::span<const std::string> known, const Hint& hint = {});

  bool ok() const { return ok_; }
  int line() const { return line_; }
  const std::string& path() const { return path_; }
  std::string field(std::string_view key) const { return join_path(path_, key); }
  const Entry* find(std::string_view key) const;
  // Reports `key` as a missing required field, with an optional explanation.
  void missing(std::string_view key, std::string_view why = {});

  // Each leaves `out` as it was when the key is absent or its value is wrong (and reported);
  // returns true when `out` was set.
  bool get(std::string_view key, std::string& out, bool non_empty = true);
  bool get(std::string_view key, int& out, std::int64_t min,
           std::int64_t max = std::numeric_limits<int>::max());
  bool get(std::string_view key, double& out, Bounds bounds);
  bool get(std::string_view key, bool& out);
  bool get_size(std::string_view key, std::size_t& out, std::uint64_t min = 1);
  // A string that must be one of `allowed` (the error lists them).
  bool get_choice(std::string_view key, std::span<const std::string> allowed, std::string& out);

 private:
  Reader& reader_;
  std::string path_;
  int line_;
  bool ok_ = false;
  std::vector<Entry> entries_;
};

// The entries of a mapping in file order; reports a key that is not a plain scalar and a key
// written twice (the first one wins).
std::vector<Entry> entries_of(Reader& reader, const YAML::Node& map, const std::string& path);

}  // namespace bc::config::detail
