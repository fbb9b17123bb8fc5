// Google's error answers for the Gemini adapter: the google.rpc error body (status, ErrorInfo
// reason, RetryInfo delay, QuotaFailure violations) read into an Error that says whether to
// retry, and whether the key cools down (per-minute quota), waits for the daily reset or is
// disabled (a quota of 0, billing or region required).
#pragma once

#include <string_view>

#include "core/error.h"
#include "core/http.h"

namespace bc::providers {

// The Error for an answer of HTTP `status` with `body` (an error object in a 2xx body, as
// Gemini's streams send one, is read the same way).
Error classify_gemini(int status, const Headers& headers, std::string_view body);

}  // namespace bc::providers
