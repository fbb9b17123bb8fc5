// The strict YAML config loader (schema and rules: docs/configuration.md). An unknown key, a
// wrong type, a value out of range, a missing required field or an unset ${ENV_VAR} is an
// error naming the file, the line and the field path; every error in the file is reported at
// once. Called at startup and by `balancedcall check`: it throws rather than returning a
// Result because a bad config ends the process.
#pragma once

#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "config/config.h"
#include "config/env.h"

namespace bc::config {

struct ConfigIssue {
  std::string file;
  int line = 0;      // 1-based; 0 when the problem has no line (file cannot be read)
  std::string path;  // e.g. "models.glm-4-flash.api_keys[0].weight"; "(syntax)" for
                     // YAML syntax errors, "(document)" for the file as a whole
  std::string message;

  // "<file>:<line>: <path>: <message>" (":<line>" left out when line is 0).
  std::string to_string() const;
};

class ConfigError : public std::runtime_error {
 public:
  // what() is one line per issue, in file order.
  explicit ConfigError(std::vector<ConfigIssue> issues);
  const std::vector<ConfigIssue>& issues() const { return issues_; }

 private:
  std::vector<ConfigIssue> issues_;
};

// Reads and validates the file at `path`; messages name the file as `path` is written.
Config load_config_file(const std::string& path);

// Validates YAML text; messages name the file as `source_name`. ${ENV} is looked up in
// `env` (the process environment by default).
Config load_config_text(std::string_view yaml, std::string source_name);
Config load_config_text(std::string_view yaml, std::string source_name, const EnvLookup& env);

}  // namespace bc::config
