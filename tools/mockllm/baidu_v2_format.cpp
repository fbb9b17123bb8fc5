#include "mockllm/baidu_v2_format.h"

#include <boost/json.hpp>

#include "mockllm/openai_format.h"

namespace bc::mockllm {
namespace {
namespace json = boost::json;

struct ErrorShape {
  std::string_view type;
  std::string_view code;
  std::string_view message;
};

// Qianfan v2 type / code / wording per status.
ErrorShape error_shape(int status) {
  switch (status) {
    case 400:
      return {"invalid_request_error", "invalid_argument", "Invalid argument"};
    case 401:
      return {"access_denied", "invalid_iam_token", "IAM Certification failed"};
    case 403:
      return {"access_denied", "no_parameter_permission", "No permission to access the model"};
    case 404:
      return {"invalid_request_error", "invalid_model", "The model does not exist"};
    case 405:
      return {"invalid_request_error", "method_not_supported", "Method not supported"};
    case 429:
      return {"rate_limit_exceeded", "rpm_rate_limit_exceeded", "Rate limit reached for RPM"};
    case 503:
      return {"rate_limit_exceeded", "cluster_rate_limit_exceeded",
              "Service is busy, please try again later"};
    default:
      if (status < 500) return {"invalid_request_error", "invalid_argument", "Invalid argument"};
      return {"internal_error", "internal_error", "Internal error"};
  }
}

class BaiduV2Format final : public OpenAiFormat {
 public:
  std::string_view name() const override { return "baidu"; }

  std::string new_id(std::uint64_t seq) const override { return "as-mock" + std::to_string(seq); }

 protected:
  json::object error_object(const ErrorSpec& error) const override {
    const auto shape = error_shape(error.status);
    return {{"error",
             {{"code", error.code.empty() ? shape.code : error.code},
              {"message", error.message.empty() ? shape.message : error.message},
              {"type", shape.type}}},
            {"id", "as-mockerror"}};
  }
};

}  // namespace

const WireFormat& baidu_v2_format() {
  static const BaiduV2Format format;
  return format;
}

}  // namespace bc::mockllm
