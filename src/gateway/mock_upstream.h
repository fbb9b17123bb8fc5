// The built-in `mock` provider's upstream: answers mock:// requests in-process, with the
// configured latency and token pace, so the gateway runs and streams on a machine with no
// network and no API key. The answer itself is built by providers/mock_answer.h (pure); this
// file only adds the timing.
#pragma once

#include <map>
#include <string>

#include <boost/asio/any_io_executor.hpp>

#include "net/upstream.h"
#include "providers/provider.h"

namespace bc::gateway {

class MockUpstream final : public net::Upstream {
 public:
  // `models`: model name (the host part of mock://<name>) -> its mock settings.
  MockUpstream(boost::asio::any_io_executor executor,
               std::map<std::string, providers::MockOptions, std::less<>> models);
  using net::Upstream::call;
  // The mock has no TLS: the policy is ignored.
  std::unique_ptr<net::UpstreamCall> call(const net::TlsPolicy& tls) override;

 private:
  boost::asio::any_io_executor executor_;
  std::map<std::string, providers::MockOptions, std::less<>> models_;
};

}  // namespace bc::gateway
