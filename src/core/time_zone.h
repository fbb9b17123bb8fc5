// Time zones and the day and month windows that daily quotas and budgets count in. Pure: a
// zone is built from the bytes of a TZif file (the caller reads /usr/share/zoneinfo/<name>)
// or from a fixed UTC offset, and every function takes the time as a parameter. GCC 12's
// libstdc++ has no std::chrono time zone database, hence this small reader.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.h"

namespace bc {

class TimeZone {
 public:
  // UTC.
  TimeZone() = default;
  // A fixed offset east of UTC, in seconds.
  static TimeZone fixed(std::int32_t offset_s, std::string name);
  // "UTC", "Z", "+08:00", "-07:00", "+05:30", "+08": a fixed zone; nullopt for anything else
  // (an IANA name such as America/Los_Angeles is read from its TZif file instead).
  static std::optional<TimeZone> parse_fixed(std::string_view text);
  // A TZif file (RFC 8536, version 1 to 4): its transitions and offsets. Beyond its last
  // transition the last offset holds (Debian's files list transitions up to 2037).
  static Result<TimeZone> from_tzif(std::string_view bytes, std::string name);

  const std::string& name() const { return name_; }
  // The offset east of UTC in force at `utc_s` (Unix seconds).
  std::int32_t offset_at(std::int64_t utc_s) const;
  // The UTC second at which the wall clock of this zone reads `local_s` (seconds since
  // 1970-01-01T00:00 local). A wall time that occurs twice (clocks set back) is its first
  // occurrence; one that does not occur (clocks set forward) is read with the offset before
  // the change, so it lands just after the change, as mktime does.
  std::int64_t utc_of_local(std::int64_t local_s) const;

  friend bool operator==(const TimeZone& a, const TimeZone& b) { return a.name_ == b.name_; }

 private:
  std::string name_ = "UTC";
  std::int32_t initial_offset_ = 0;        // before the first transition
  std::vector<std::int64_t> transitions_;  // UTC seconds, ascending
  std::vector<std::int32_t> offsets_;      // offsets_[i] holds from transitions_[i]
};

// A span of time [start_ms, end_ms) in Unix milliseconds.
struct TimeWindow {
  std::int64_t start_ms = 0;
  std::int64_t end_ms = 0;
  friend bool operator==(const TimeWindow&, const TimeWindow&) = default;
};

// The quota day holding `utc_ms`: from `reset_hour` (0-23) local time in `zone` to the same
// hour the next day (23 or 25 hours long on a day the clocks change).
TimeWindow day_window(std::int64_t utc_ms, int reset_hour, const TimeZone& zone);
// The calendar month holding `utc_ms`, from the 1st at 00:00 local time in `zone`.
TimeWindow month_window(std::int64_t utc_ms, const TimeZone& zone);

}  // namespace bc
