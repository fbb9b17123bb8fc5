// Secrets are shown only masked: the first characters that name the kind of key and the last
// four, e.g. "sk-…a1b2". Used for key ids in responses, logs and metrics.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace bc {

std::string mask_secret(std::string_view secret);

// Replaces in `text` every occurrence of `secret`, and of the forms an upstream may echo it
// in (percent-encoded, JSON-escaped, base64 and base64url), by mask_secret(secret). A
// composite key ("<id>:<secret>", Baidu legacy's "<API Key>:<Secret Key>") has each part
// redacted too, since an upstream gets, and may echo, the parts alone. Secrets (and parts)
// shorter than kMinRedactedSecret bytes are left alone: not keys, and replacing them would
// garble the text. For error messages, not hot paths: a handful of searches per call.
inline constexpr std::size_t kMinRedactedSecret = 4;
void redact_secret(std::string& text, std::string_view secret);

}  // namespace bc
