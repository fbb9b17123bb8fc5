// Baidu Qianfan / ERNIE. Two APIs, chosen by `base_url`:
//
// - v2 (the default, kBaiduBaseUrl or any base_url without "wenxinworkshop"): OpenAI-style
//   chat/completions with `Authorization: Bearer <API Key>`. Errors come in OpenAI's shape
//   with string codes, or in Baidu's flat {"error_code","error_msg"} shape even with HTTP 200.
// - legacy (a base_url containing "wenxinworkshop", e.g. kBaiduLegacyBaseUrl): the model's
//   endpoint is `<base_url>/<upstream_model>?access_token=<token>`, its own request, answer
//   and stream shapes (decoded into OpenAI's), errors always with HTTP 200. The key is
//   configured as "<API Key>:<Secret Key>" and exchanged for a 30-day access token through
//   credential_request()/decode_credential() at `<scheme://host of base_url>/oauth/2.0/token`;
//   encode() needs that token in Credential::derived_token. A key without ':' is taken to
//   be an access token already (no exchange). Codes 13/100/110/111 (token dead) classify as
//   KeyAction::kRefreshCredential.
#pragma once

#include <memory>
#include <string_view>

#include "providers/provider.h"

namespace bc::providers {

inline constexpr std::string_view kBaiduBaseUrl = "https://qianfan.baidubce.com/v2";
inline constexpr std::string_view kBaiduLegacyBaseUrl =
    "https://aip.baidubce.com/rpc/2.0/ai_custom/v1/wenxinworkshop/chat";

std::unique_ptr<Provider> make_baidu(ProviderOptions options);

}  // namespace bc::providers
