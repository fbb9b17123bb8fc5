// HS256 JSON Web Tokens (RFC 7519) for providers that sign requests with one (Zhipu's legacy
// auth). Pure: the caller passes the time inside the claims.
#pragma once

#include <string>
#include <string_view>

namespace bc::providers {

// base64url (RFC 4648 §5) without padding.
std::string base64url(std::string_view bytes);

// HMAC-SHA256 of `message` with `key`: the 32 raw digest bytes.
std::string hmac_sha256(std::string_view key, std::string_view message);

// `base64url(header) "." base64url(payload) "." base64url(HMAC-SHA256(secret, first two))`,
// with `header_json` and `payload_json` used byte for byte.
std::string hs256_jwt(std::string_view header_json, std::string_view payload_json,
                      std::string_view secret);

}  // namespace bc::providers
