// A provider's own fields of a model's mapping (Zhipu's `jwt_auth`, the mock's `mock:`), read
// and checked by that provider. The config loader hands the provider an OptionReader over the
// model's YAML mapping, so this layer needs no YAML and every problem is still reported with
// the file, line and field; the options come back as the provider's own type inside a
// std::any, which the config holds without knowing it and the provider's factory unpacks.
// A new provider with options touches only its own files and its registry row.
#pragma once

#include <any>
#include <cstdint>
#include <limits>
#include <memory>
#include <span>
#include <string>
#include <string_view>

#include <boost/json/object.hpp>

namespace bc::providers {

class OptionReader {
 public:
  virtual ~OptionReader() = default;
  // Each leaves `out` as it was when `key` is absent or its value is wrong (then reported);
  // returns true when `out` was set.
  virtual bool get(std::string_view key, bool& out) = 0;
  virtual bool get(std::string_view key, int& out, std::int64_t min,
                   std::int64_t max = std::numeric_limits<int>::max()) = 0;
  // A number of at least `min` (above it when `min_exclusive`).
  virtual bool get(std::string_view key, double& out, double min, bool min_exclusive) = 0;
  virtual bool get(std::string_view key, std::string& out, bool non_empty) = 0;
  // The mapping under `key`, its keys checked against `known`; nullptr when `key` is absent
  // or not a mapping (reported).
  virtual std::unique_ptr<OptionReader> mapping(std::string_view key,
                                                std::span<const std::string_view> known) = 0;
};

// One provider's options: the fields of a model's mapping it owns, and its functions.
struct OptionsSpec {
  std::span<const std::string_view> fields;
  // Reads the fields (present or not: defaults otherwise) into the provider's options type.
  std::any (*read)(OptionReader& model);
  // Adds the options to a model's JSON in /admin/config; nullptr: nothing shown.
  void (*describe)(const std::any& options, boost::json::object& model);
  // Where a key that is not a model field belongs (e.g. "it belongs under 'mock'"), or "";
  // nullptr: no hint.
  std::string (*hint)(std::string_view key);
};

// The options in `options` as T, or T's defaults when it holds none (a model built in a test,
// or by a fuzzer, without the loader).
template <typename T>
T options_as(const std::any& options) {
  if (const T* o = std::any_cast<T>(&options)) return *o;
  return T{};
}

}  // namespace bc::providers
