#include "fuzz_support.h"

#include <algorithm>
#include <cmath>

#include <boost/json/parse.hpp>

#include "core/trim.h"
#include "providers/registry.h"

namespace bc::fuzz {

bool same_fields(Fields written, Fields read) {
  const auto lower = [](std::string s) {
    for (auto& c : s) c = static_cast<char>(c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c);
    return s;
  };
  const auto by_name = [&](Fields& fields) {
    for (auto& [name, value] : fields) {
      name = lower(name);
      value = std::string(bc::trim(value));
    }
    std::stable_sort(fields.begin(), fields.end(),
                     [](const auto& a, const auto& b) { return a.first < b.first; });
  };
  by_name(written);
  by_name(read);
  return written == read;
}

std::vector<std::string_view> split(std::string_view bytes, std::uint8_t seed) {
  std::vector<std::string_view> pieces;
  if (seed == 0) {
    pieces.push_back(bytes);
    return pieces;
  }
  std::uint32_t state = 0x9e3779b9u ^ seed;
  const std::uint32_t max_piece = 1 + seed % 64;
  while (!bytes.empty()) {
    state ^= state << 13;
    state ^= state >> 17;
    state ^= state << 5;
    const std::size_t n = 1 + state % max_piece;
    pieces.push_back(bytes.substr(0, n));
    bytes.remove_prefix(pieces.back().size());
  }
  return pieces;
}

providers::ProviderOptions options(std::string_view base_url) {
  providers::ProviderOptions o;
  o.model_name = "fuzz-model";
  o.upstream_model = "fuzz-upstream-model";
  o.base_url = std::string(base_url);
  o.default_temperature = 0.7;
  o.supports_tools = true;
  return o;
}

std::unique_ptr<providers::Provider> make(std::string_view provider,
                                          providers::ProviderOptions options) {
  auto made = providers::make_provider(provider, std::move(options));
  if (!made) fail("make_provider refused a fuzz variant: " + made.error().message);
  return std::move(made).value();
}

void check_error(const Error& error) {
  const int status = error.status();
  if (status < 400 || status > 599) fail("error status outside 4xx/5xx");
  if (error.cooldown.count() < 0) fail("negative cooldown");
  // Invalid UTF-8 is let through: error messages quote upstream bodies byte for byte (a known
  // gap, reported rather than enforced here); the JSON structure must still hold.
  boost::json::parse_options lenient;
  lenient.allow_invalid_utf8 = true;
  boost::system::error_code ec;
  const auto body = boost::json::parse(error.to_json(), ec, {}, lenient);
  if (ec || !body.is_object()) fail("Error::to_json() is not a JSON object");
}

void check_delta(const ChatDelta& delta) {
  // Relayed to /v1 clients as one SSE line, `data: <chunk_json>`: a line break would end the
  // event early and the client would read a truncated chunk.
  if (delta.chunk_json.find_first_of("\r\n") != std::string::npos) {
    fail("chunk_json contains a line break: " + delta.chunk_json);
  }
  boost::system::error_code ec;
  const auto chunk = boost::json::parse(delta.chunk_json, ec);
  if (ec || !chunk.is_object()) fail("chunk_json is not a JSON object: " + delta.chunk_json);
}

void check_request(const UpstreamRequest& request) {
  const std::string_view url = request.url;
  if (!url.starts_with("http://") && !url.starts_with("https://") && !url.starts_with("mock://")) {
    fail("upstream url is not http(s):// or mock://: " + request.url);
  }
  if (!request.body.empty()) {
    boost::system::error_code ec;
    const auto body = boost::json::parse(request.body, ec);
    if (ec || !body.is_object()) fail("upstream body is not a JSON object");
  }
}

}  // namespace bc::fuzz

namespace bc::fuzz {

namespace {

bool same_value(const boost::json::value& a, const boost::json::value& b) {
  if (a.is_number() && b.is_number()) {
    if (!a.is_double() && !b.is_double()) return a == b;
    const double x = a.to_number<double>();
    const double y = b.to_number<double>();
    return x == y || std::fabs(x - y) <= 1e-12 * std::fmax(std::fabs(x), std::fabs(y));
  }
  if (a.kind() != b.kind()) return false;
  if (a.is_object()) {
    const auto& x = a.as_object();
    const auto& y = b.as_object();
    if (x.size() != y.size()) return false;
    for (auto i = x.begin(), j = y.begin(); i != x.end(); ++i, ++j) {
      if (i->key() != j->key() || !same_value(i->value(), j->value())) return false;
    }
    return true;
  }
  if (a.is_array()) {
    const auto& x = a.as_array();
    const auto& y = b.as_array();
    if (x.size() != y.size()) return false;
    for (std::size_t i = 0; i < x.size(); ++i) {
      if (!same_value(x[i], y[i])) return false;
    }
    return true;
  }
  return a == b;
}

}  // namespace

bool same_json(std::string_view a, std::string_view b) {
  boost::json::error_code ea;
  boost::json::error_code eb;
  const auto x = boost::json::parse(a, ea);
  const auto y = boost::json::parse(b, eb);
  return !ea && !eb && same_value(x, y);
}

}  // namespace bc::fuzz
