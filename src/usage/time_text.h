// The times the usage queries take as text: absolute (Unix seconds, or ISO 8601 UTC dates
// and times: 2025-01-31, 2025-01-31T12, 2025-01-31T12:30, 2025-01-31T12:30:00Z) and relative
// spans (90m, 24h, 7d, 2w). Pure: the caller gives "now".
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace bc::usage {

// Unix milliseconds of an absolute time; nullopt when the text is none of the forms above.
std::optional<std::int64_t> parse_time_ms(std::string_view text);
// A span ("7d") in milliseconds; nullopt when it is not <positive number><m|h|d|w>.
std::optional<std::int64_t> parse_span_ms(std::string_view text);
// `text` as an absolute time, or as a span back from `now_ms` ("7d": a week ago).
std::optional<std::int64_t> parse_since_ms(std::string_view text, std::int64_t now_ms);
// ISO 8601 UTC with seconds: 2025-01-31T12:30:00Z.
std::string iso_utc(std::int64_t ms);

}  // namespace bc::usage
