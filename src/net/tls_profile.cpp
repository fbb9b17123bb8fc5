// The client's TLS profiles and their URL cache (see tls_profile.h).
#include "net/tls_profile.h"

#include <boost/asio/ssl/context.hpp>

#include "net/tls_context.h"

namespace bc::net {

TlsProfile::TlsProfile() = default;
TlsProfile::~TlsProfile() = default;

Result<boost::asio::ssl::context*> TlsProfile::get() const {
  if (!context) {
    auto made = make_client_tls_context(verify, ca_file, extra_ca);
    if (!made) return std::move(made).error();
    context = std::move(made).value();
  }
  return context.get();
}

Result<std::shared_ptr<const Target>> TlsProfile::target(std::string_view text) const {
  if (const auto it = targets.find(text); it != targets.end()) return it->second;
  auto url = parse_url(text);
  if (!url) return std::move(url).error();
  auto made = std::make_shared<Target>();
  made->url = std::move(url).value();
  made->pool_key = made->url.tls ? made->url.origin() + pool_suffix : made->url.origin();
  made->host_header = made->url.host_header();
  if (targets.size() >= kMaxTargets) targets.clear();  // URLs with a key in them, say
  targets.emplace(std::string(text), made);
  return std::shared_ptr<const Target>(std::move(made));
}

}  // namespace bc::net
