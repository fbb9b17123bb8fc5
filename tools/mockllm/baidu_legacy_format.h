// Baidu ERNIE legacy. A token exchange,
//   POST /oauth/2.0/token?grant_type=client_credentials&client_id=<API Key>&client_secret=<..>,
// issues an access token that embeds the API key (so its fault plan still applies) and its
// expiry; chat calls go to POST /rpc/2.0/ai_custom/v1/wenxinworkshop/chat/<endpoint>
// ?access_token=<token>. Answers carry `result`; streams are `data:` chunks with sentence_id and
// is_end, and the body ends after the chunk with is_end true (no [DONE]). Every error comes with
// HTTP 200 as {"error_code":N,"error_msg":...}: 110 for a token that is not one of ours, 111
// for an expired one.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "mockllm/wire_format.h"

namespace bc::mockllm {

const WireFormat& baidu_legacy_format();

inline constexpr std::string_view kBaiduTokenPath = "/oauth/2.0/token";

struct TokenReply {
  int status = 200;
  std::string body;
  // The API key a token was issued for; empty when the exchange failed.
  std::string api_key;
};

// The token exchange for a request to kBaiduTokenPath (parameters in the query or in a
// form-encoded body). Fails like Baidu when client_id or client_secret is missing, the grant
// type is not client_credentials, or the key's plan says `status=401` without `fail_first`
// (a credential that is wrong for good). The token lives for the plan's `token_ttl`.
TokenReply baidu_token_exchange(std::string_view target, std::string_view body,
                                std::int64_t now_unix);

// "24.<hex of the API key>.<ttl>.<expires_at>.mockllm"
std::string baidu_access_token(std::string_view api_key, std::int64_t ttl, std::int64_t expires_at);

}  // namespace bc::mockllm
