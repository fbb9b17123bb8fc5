#include "net/url.h"

#include <algorithm>
#include <cctype>

namespace bc::net {
namespace {

std::string lower(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

// The URL comes from the gateway's config and the provider adapter, not from the caller: a bad
// one is the gateway's fault (500), not a bad request.
Error invalid(std::string why) {
  return Error::internal("invalid upstream URL: " + std::move(why), "invalid_upstream_url");
}

std::string bracketed(const std::string& host) {
  return host.find(':') == std::string::npos ? host : "[" + host + "]";
}

}  // namespace

std::string Url::authority() const {
  return bracketed(host) + ":" + std::to_string(port);
}

std::string Url::origin() const {
  return (tls ? "https://" : "http://") + authority();
}

std::string Url::host_header() const {
  const bool default_port = port == (tls ? 443 : 80);
  return default_port ? bracketed(host) : authority();
}

Result<Url> parse_url(std::string_view url) {
  const auto scheme_end = url.find("://");
  if (scheme_end == std::string_view::npos) return invalid("no scheme");
  const std::string scheme = lower(url.substr(0, scheme_end));
  Url out;
  if (scheme == "https") {
    out.tls = true;
  } else if (scheme != "http") {
    // Only the scheme is named: the rest of the URL may hold a secret.
    return invalid("scheme '" + scheme + "' is not served by the HTTP client");
  }
  std::string_view rest = url.substr(scheme_end + 3);
  if (const auto hash = rest.find('#'); hash != std::string_view::npos) rest = rest.substr(0, hash);
  const auto authority_end = std::min(rest.find('/'), rest.find('?'));
  const std::string_view authority = rest.substr(0, authority_end);
  std::string_view target =
      authority_end == std::string_view::npos ? std::string_view{} : rest.substr(authority_end);

  if (authority.find('@') != std::string_view::npos) return invalid("user info is not supported");
  std::string_view host = authority;
  std::string_view port;
  if (!authority.empty() && authority.front() == '[') {
    const auto close = authority.find(']');
    if (close == std::string_view::npos) return invalid("unterminated IPv6 literal");
    host = authority.substr(1, close - 1);
    const std::string_view after = authority.substr(close + 1);
    if (!after.empty()) {
      if (after.front() != ':') return invalid("unexpected characters after the IPv6 literal");
      port = after.substr(1);
      if (port.empty()) return invalid("empty port");
    }
  } else if (const auto colon = authority.rfind(':'); colon != std::string_view::npos) {
    host = authority.substr(0, colon);
    port = authority.substr(colon + 1);
    if (port.empty()) return invalid("empty port");
  }
  if (host.empty()) return invalid("no host");
  for (const char c : host) {
    const auto u = static_cast<unsigned char>(c);
    if (!std::isalnum(u) && c != '.' && c != '-' && c != '_' && c != ':') {
      return invalid("bad character in host");
    }
  }
  out.host = lower(host);

  if (port.empty()) {
    out.port = out.tls ? 443 : 80;
  } else {
    unsigned value = 0;
    for (const char c : port) {
      if (c < '0' || c > '9' || port.size() > 5) return invalid("bad port");
      value = value * 10 + static_cast<unsigned>(c - '0');
    }
    if (value == 0 || value > 65535) return invalid("port out of range");
    out.port = static_cast<std::uint16_t>(value);
  }

  if (target.empty()) {
    out.target = "/";
  } else if (target.front() == '?') {
    out.target = "/" + std::string(target);
  } else {
    out.target = std::string(target);
  }
  for (const char c : out.target) {
    if (static_cast<unsigned char>(c) <= 0x20 || c == 0x7f) {
      return invalid("whitespace or control character in path or query");
    }
  }
  return out;
}

}  // namespace bc::net
