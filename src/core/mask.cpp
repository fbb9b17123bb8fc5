#include "core/mask.h"

#include <array>

namespace bc {

std::string mask_secret(std::string_view secret) {
  // Short secrets reveal too much even in part.
  if (secret.size() < 8) return "…";
  if (secret.size() < 12) return "…" + std::string(secret.substr(secret.size() - 2));
  std::string prefix;
  // Keep a provider-style prefix ("sk-") when present: it names the kind of key, not the key.
  const auto dash = secret.find('-');
  if (dash != std::string_view::npos && dash <= 4) prefix = std::string(secret.substr(0, dash + 1));
  return prefix + "…" + std::string(secret.substr(secret.size() - 4));
}

namespace {

void replace_all(std::string& text, std::string_view needle, std::string_view with) {
  if (needle.size() < kMinRedactedSecret) return;
  for (auto at = text.find(needle); at != std::string::npos; at = text.find(needle, at)) {
    text.replace(at, needle.size(), with);
    at += with.size();
  }
}

// RFC 3986: everything but the unreserved characters as %XX.
std::string percent_encoded(std::string_view s, const char* hex) {
  std::string out;
  for (const char c : s) {
    const auto u = static_cast<unsigned char>(c);
    if ((u >= 'A' && u <= 'Z') || (u >= 'a' && u <= 'z') || (u >= '0' && u <= '9') || c == '-' ||
        c == '_' || c == '.' || c == '~') {
      out.push_back(c);
    } else {
      out.push_back('%');
      out.push_back(hex[u >> 4]);
      out.push_back(hex[u & 15]);
    }
  }
  return out;
}

// The base64 of `s`'s whole 3-byte groups only: those characters are the same whatever
// follows the secret in the encoded data, padded or not.
std::string base64_groups(std::string_view s, bool url) {
  static constexpr std::string_view kStd =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  static constexpr std::string_view kUrl =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  const std::string_view alphabet = url ? kUrl : kStd;
  std::string out;
  for (std::size_t i = 0; i + 3 <= s.size(); i += 3) {
    const auto n = static_cast<unsigned>(static_cast<unsigned char>(s[i])) << 16 |
                   static_cast<unsigned>(static_cast<unsigned char>(s[i + 1])) << 8 |
                   static_cast<unsigned>(static_cast<unsigned char>(s[i + 2]));
    for (const int shift : {18, 12, 6, 0}) out.push_back(alphabet[(n >> shift) & 63]);
  }
  return out;
}

// `s` as it reads inside a JSON string written with "\/" for '/' (some encoders do).
std::string json_slashes(std::string_view s) {
  std::string out;
  for (const char c : s) {
    if (c == '/') out.push_back('\\');
    out.push_back(c);
  }
  return out;
}

void redact_one(std::string& text, std::string_view secret) {
  if (secret.size() < kMinRedactedSecret) return;
  const std::string mask = mask_secret(secret);
  replace_all(text, secret, mask);
  const std::array<std::string, 3> escaped = {percent_encoded(secret, "0123456789ABCDEF"),
                                              percent_encoded(secret, "0123456789abcdef"),
                                              json_slashes(secret)};
  for (const auto& form : escaped) {
    if (form != secret) replace_all(text, form, mask);
  }
  // The base64 of a short secret is too short to be told from other text.
  if (secret.size() >= 6) {
    replace_all(text, base64_groups(secret, false), mask);
    replace_all(text, base64_groups(secret, true), mask);
  }
}

}  // namespace

void redact_secret(std::string& text, std::string_view secret) {
  if (secret.size() < kMinRedactedSecret || text.empty()) return;
  redact_one(text, secret);
  if (secret.find(':') == std::string_view::npos) return;
  std::string_view rest = secret;
  while (!rest.empty()) {
    const auto colon = rest.find(':');
    redact_one(text, rest.substr(0, colon));
    if (colon == std::string_view::npos) break;
    rest.remove_prefix(colon + 1);
  }
}

}  // namespace bc
