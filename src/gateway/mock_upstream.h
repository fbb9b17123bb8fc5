// The built-in `mock` provider's upstream: answers mock:// requests in-process, with the
// latency and token pace the mock provider put in each request (providers/mock.h), so the gateway
// runs and streams on a machine with no network and no API key. The answer itself is built by
// providers/mock_answer.h (pure); this file only adds the timing.
#pragma once

#include <boost/asio/any_io_executor.hpp>

#include "net/upstream.h"
#include "providers/provider.h"

namespace bc::gateway {

class MockUpstream final : public net::Upstream {
 public:
  explicit MockUpstream(boost::asio::any_io_executor executor);
  using net::Upstream::call;
  // The mock has no TLS: the policy is ignored.
  std::unique_ptr<net::UpstreamCall> call(const net::TlsPolicy& tls) override;

 private:
  boost::asio::any_io_executor executor_;
};

}  // namespace bc::gateway
