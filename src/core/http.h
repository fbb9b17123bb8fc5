// The plain shapes of an upstream HTTP exchange, shared by providers (which build and read
// them) and net (which sends them). No I/O here.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace bc {

struct Header {
  std::string name;
  std::string value;
  bool operator==(const Header&) const = default;
};
using Headers = std::vector<Header>;

// Case-insensitive lookup of the first header named `name`; nullopt when absent.
std::optional<std::string_view> find_header(const Headers& headers, std::string_view name);

struct UpstreamRequest {
  std::string method = "POST";
  // Absolute URL: http://, https:// or mock:// (the in-process mock upstream).
  std::string url;
  Headers headers;
  std::string body;
  bool stream = false;
};

struct UpstreamResponse {
  int status = 0;
  Headers headers;
  std::string body;
};

}  // namespace bc
