// The upstream client (net/http_client.h): the state its calls share, and the TLS profile a
// call's policy picks. The call itself is in http_call*.cpp.
#include "net/http_client.h"

#include <boost/asio/ssl/context.hpp>

#include "net/http_call.h"
#include "net/tls_context.h"

namespace bc::net {

const TlsProfile& HttpClient::State::profile(const TlsPolicy& tls) {
  const bool verify = options.verify_peer && tls.verify;
  if (verify == base.verify && (!verify || tls.ca_file.empty())) return base;
  std::string key = verify ? "#ca=" + tls.ca_file : std::string("#noverify");
  auto& slot = profiles[key];
  if (!slot) {
    slot = std::make_unique<TlsProfile>();
    slot->verify = verify;
    slot->pool_suffix = std::move(key);
    const std::string extra_ca = verify ? tls.ca_file : std::string();
    auto context = make_client_tls_context(verify, options.ca_file, extra_ca);
    if (context) {
      slot->context = std::move(context).value();
    } else {
      slot->error = std::move(context).error();
    }
  }
  return *slot;
}

HttpClient::HttpClient(boost::asio::any_io_executor executor, HttpClientOptions options)
    : executor_(std::move(executor)), state_(std::make_shared<State>(std::move(options))) {}

HttpClient::~HttpClient() = default;

std::unique_ptr<UpstreamCall> HttpClient::call(const TlsPolicy& tls) {
  return std::make_unique<client_detail::HttpCall>(executor_, state_, state_->profile(tls));
}

std::size_t HttpClient::idle_connections() const {
  return state_->pool.idle_count();
}

}  // namespace bc::net
