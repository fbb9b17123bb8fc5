#include "api/exchange.h"

#include <algorithm>

namespace bc::api {

namespace {
constexpr std::string_view kRequestIdHeader = "X-Request-Id";

bool sane_request_id(std::string_view id) {
  if (id.empty() || id.size() > 128) return false;
  for (const char c : id) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    c == '.' || c == '_' || c == ':' || c == '-';
    if (!ok) return false;
  }
  return true;
}
}  // namespace

Exchange::Exchange(net::ResponseWriter& inner, std::string request_id, TimePoint started)
    : inner_(inner), started_(started) {
  id_field_.push_back({std::string(kRequestIdHeader), std::move(request_id)});
}

const Headers& Exchange::with_id(const Headers& extra, Headers& joined) const {
  if (extra.empty()) return id_field_;
  joined.reserve(extra.size() + 1);
  joined = extra;
  joined.push_back(id_field_.front());
  return joined;
}

awaitable<void> Exchange::send(int status, std::string_view content_type, std::string body,
                               const Headers& extra) {
  status_ = status;
  first_byte_ = Clock::now();
  if (status >= 400) error_body_.assign(body, 0, std::min<std::size_t>(body.size(), 2048));
  Headers joined;
  co_await inner_.send(status, content_type, std::move(body), with_id(extra, joined));
}

Status Exchange::begin_stream(int status, std::string_view content_type, const Headers& extra) {
  status_ = status;
  streamed_ = true;
  first_byte_ = Clock::now();
  Headers joined;
  return inner_.begin_stream(status, content_type, with_id(extra, joined));
}

std::string request_id_for(const net::HttpRequest& request, Rng& rng) {
  const auto given = request[kRequestIdHeader];
  if (sane_request_id(given)) return std::string(given);
  static constexpr char kHex[] = "0123456789abcdef";
  std::string id(32, '0');
  for (int half = 0; half < 2; ++half) {
    auto bits = rng.next();
    for (int i = 0; i < 16; ++i, bits >>= 4) id[half * 16 + i] = kHex[bits & 0xf];
  }
  return id;
}

}  // namespace bc::api
