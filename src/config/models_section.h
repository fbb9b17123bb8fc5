// Reads the `models:` section (each model, its keys, its breaker and its mock) and
// `enabled_models` into the config: the largest part of a config, in a file of its own so the
// loader only names it. Problems are reported through the reader (file, line, field).
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "config/config.h"
#include "config/yaml_reader.h"

namespace bc::config {

// `defaults`: the global breaker settings every model starts from; `source`: the config file,
// whose folder a relative `ca_file` is resolved against.
void read_models_section(detail::Reader& reader, const detail::Entry& entry,
                         const BreakerConfig& defaults, const std::string& source,
                         std::vector<ModelConfig>& out);
// `models_entry`: the `models:` entry, to name the models it configures (may be null).
void read_enabled_models(detail::Reader& reader, const detail::Entry& entry,
                         const detail::Entry* models_entry, std::vector<std::string>& out);
// A `breaker:` mapping, global or a model's, at `path`.
void read_breaker_section(detail::Reader& reader, const detail::Entry& entry,
                          const std::string& path, BreakerConfig& out);
// Resolves a relative path against the config file's folder and reports a file that cannot
// be opened for reading; what it holds is checked where it is used (at startup).
void check_readable_file(detail::Reader& reader, detail::MapReader& m, std::string_view key,
                         const std::string& source, std::string& file);
// Whether `key` is a field of a model: the hint for one put at the top level by mistake.
bool is_model_field(std::string_view key);

}  // namespace bc::config
