#include "config/env.h"

#include <cstdlib>

namespace bc::config {

namespace {

bool is_name_start(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '_';
}
bool is_name_char(char c) {
  return is_name_start(c) || (c >= '0' && c <= '9');
}

}  // namespace

EnvLookup process_env() {
  return [](const std::string& name) -> std::optional<std::string> {
    // getenv is safe here: config is loaded at startup, before any thread changes the
    // environment.
    const char* v = std::getenv(name.c_str());
    if (v == nullptr) return std::nullopt;
    return std::string(v);
  };
}

Expansion expand_env(std::string_view text, const EnvLookup& env) {
  Expansion out;
  std::size_t i = 0;
  while (i < text.size()) {
    const char c = text[i];
    if (c != '$') {
      out.text += c;
      ++i;
      continue;
    }
    if (text.substr(i, 3) == "$${") {
      out.text += "${";
      i += 3;
      continue;
    }
    if (text.substr(i, 2) != "${") {
      out.text += c;
      ++i;
      continue;
    }
    const std::size_t close = text.find('}', i + 2);
    if (close == std::string_view::npos) {
      out.errors.push_back("unterminated '${' (write '$${' for a literal '${')");
      return out;
    }
    const std::string_view body = text.substr(i + 2, close - i - 2);
    const std::size_t sep = body.find(":-");
    const std::string_view name = body.substr(0, sep);
    bool valid = !name.empty() && is_name_start(name[0]);
    for (char n : name) valid = valid && is_name_char(n);
    if (!valid) {
      out.errors.push_back("'${" + std::string(body) +
                           "}' is not a valid variable reference (expected ${NAME} or "
                           "${NAME:-default})");
      i = close + 1;
      continue;
    }
    const std::optional<std::string> value = env(std::string(name));
    if (sep != std::string_view::npos) {
      out.text += value && !value->empty() ? *value : std::string(body.substr(sep + 2));
    } else if (value) {
      out.text += *value;
    } else {
      out.errors.push_back("environment variable '" + std::string(name) + "' is not set (write ${" +
                           std::string(name) + ":-default} to give a default)");
    }
    out.substituted = true;
    i = close + 1;
  }
  return out;
}

}  // namespace bc::config
