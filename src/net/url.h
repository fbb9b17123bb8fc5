// The parts of an upstream http:// or https:// URL the client needs to open a connection and
// send a request. Pure string handling, no I/O.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "core/result.h"

namespace bc::net {

struct Url {
  bool tls = false;        // https
  std::string host;        // lower-cased host name or IPv4 literal (IPv6 without brackets)
  std::uint16_t port = 0;  // explicit, or 80 / 443 from the scheme
  std::string target;      // path and query, at least "/"; the fragment is dropped

  // "host:port" (IPv6 in brackets): what error messages name. Never the path or the query,
  // which may carry a key (e.g. Gemini's ?key=).
  std::string authority() const;
  // "https://host:port": the connection pool's key.
  std::string origin() const;
  // The Host header: the port is omitted when it is the scheme's default.
  std::string host_header() const;
};

// Accepts http:// and https:// (scheme case-insensitive) with a host, an optional port, path and
// query. Rejects other schemes (mock:// is served in-process, not here), user info and empty
// hosts. Error messages never echo the path or the query.
Result<Url> parse_url(std::string_view url);

}  // namespace bc::net
