#include "providers/provider.h"

#include "providers/upstream_error.h"

namespace bc::providers {

Error Provider::classify(int status, const Headers& headers, std::string_view body) const {
  return classify_http({}, status, headers, body);
}

}  // namespace bc::providers
