// Shared between baidu.cpp (v2, classification, credential exchange) and baidu_legacy.cpp
// (the wenxinworkshop request, answer and stream shapes). Not for other files.
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include <boost/json/fwd.hpp>

#include "providers/provider.h"

namespace bc::providers::baidu {

// True when a parsed body carries an error in Baidu's flat shapes: a non-zero `error_code`
// (with `error_msg`) or a non-zero numeric `code` (with `msg`).
bool has_flat_error(const boost::json::object& body);

// Classification of Baidu's string codes (v2) and numeric codes (legacy), any status. The
// legacy API refreshes its token on codes 13/100/110/111; v2 has no token, so those disable.
Error classify_v2(int status, const Headers& headers, std::string_view body);
Error classify_legacy(int status, const Headers& headers, std::string_view body);

// The legacy request body for `request`.
Result<boost::json::object> legacy_body(const ChatRequest& request, const ProviderOptions& options);
// A legacy answer as an OpenAI chat.completion; `model` fills the missing `model` member.
Result<ChatResponse> legacy_decode(const UpstreamResponse& response, std::string_view model);
std::unique_ptr<StreamDecoder> legacy_stream_decoder(std::string model);

}  // namespace bc::providers::baidu
