// ${ENV_VAR} substitution in config scalars. Pure: the environment comes in as a function,
// so tests need not touch the process environment.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace bc::config {

// Returns the value of an environment variable, or nullopt when it is not set.
using EnvLookup = std::function<std::optional<std::string>(const std::string& name)>;

// Looks variables up in the process environment (getenv).
EnvLookup process_env();

struct Expansion {
  std::string text;
  bool substituted = false;         // at least one ${...} was replaced
  std::vector<std::string> errors;  // e.g. "environment variable 'X' is not set"; text is
                                    // then unusable
};

// Replaces `${NAME}` with the variable's value and `${NAME:-default}` with the value, or with
// `default` when the variable is unset or empty (as in the shell). `$${` stands for a literal
// `${`; any other `$` is kept as is. NAME is [A-Za-z_][A-Za-z0-9_]*; the default is literal
// text up to the closing brace (no nesting).
Expansion expand_env(std::string_view text, const EnvLookup& env);

}  // namespace bc::config
