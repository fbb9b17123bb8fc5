#include "core/time_zone.h"

#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

namespace bc {
namespace {

constexpr std::int64_t kH = 3'600'000;

// 2025-01-31T00:00:00Z and friends, in Unix milliseconds.
constexpr std::int64_t kJan31 = 1'738'281'600'000;
constexpr std::int64_t kMar9 = 1'741'478'400'000;  // 2025-03-09T00:00Z, LA springs forward
constexpr std::int64_t kNov2 = 1'762'041'600'000;  // 2025-11-02T00:00Z, LA falls back

// The system's zone file, as the config loader reads it (tzdata, installed by setup.sh).
TimeZone zone(const std::string& name) {
  std::ifstream in("/usr/share/zoneinfo/" + name, std::ios::binary);
  std::stringstream bytes;
  bytes << in.rdbuf();
  auto z = TimeZone::from_tzif(bytes.str(), name);
  EXPECT_TRUE(z) << name;
  return z ? *z : TimeZone();
}

TEST(TimeZone, UtcDaysStartAtTheResetHour) {
  const TimeZone utc;
  EXPECT_EQ(day_window(kJan31 + 5 * kH, 0, utc), (TimeWindow{kJan31, kJan31 + 24 * kH}));
  // Before 07:00 the day that began at 07:00 yesterday is still running.
  EXPECT_EQ(day_window(kJan31 + 5 * kH, 7, utc), (TimeWindow{kJan31 - 17 * kH, kJan31 + 7 * kH}));
  EXPECT_EQ(day_window(kJan31 + 7 * kH, 7, utc), (TimeWindow{kJan31 + 7 * kH, kJan31 + 31 * kH}));
}

TEST(TimeZone, FixedOffsetsShiftTheDay) {
  const auto shanghai = TimeZone::parse_fixed("+08:00");
  ASSERT_TRUE(shanghai);
  // Midnight at +08:00 is 16:00 UTC the day before.
  EXPECT_EQ(day_window(kJan31 + 17 * kH, 0, *shanghai),
            (TimeWindow{kJan31 + 16 * kH, kJan31 + 40 * kH}));
  const auto india = TimeZone::parse_fixed("+05:30");
  ASSERT_TRUE(india);
  EXPECT_EQ(india->offset_at(0), 5 * 3600 + 1800);
  EXPECT_EQ(TimeZone::parse_fixed("-07")->offset_at(0), -7 * 3600);
  for (const char* bad : {"", "+8", "+08:0", "08:00", "+15:00", "+08:60", "Europe/Paris"}) {
    EXPECT_FALSE(TimeZone::parse_fixed(bad)) << bad;
  }
}

TEST(TimeZone, PacificTimeFromItsTzifFile) {
  const auto la = zone("America/Los_Angeles");
  EXPECT_EQ(la.offset_at(kJan31 / 1000), -8 * 3600);
  EXPECT_EQ(la.offset_at((kMar9 + 11 * kH) / 1000), -7 * 3600);
  // Midnight Pacific on an ordinary winter day is 08:00 UTC.
  EXPECT_EQ(day_window(kJan31 + 12 * kH, 0, la), (TimeWindow{kJan31 + 8 * kH, kJan31 + 32 * kH}));
}

TEST(TimeZone, TheDayTheClocksSpringForwardHas23Hours) {
  const auto la = zone("America/Los_Angeles");
  const auto w = day_window(kMar9 + 12 * kH, 0, la);
  EXPECT_EQ(w.start_ms, kMar9 + 8 * kH);          // 00:00 PST
  EXPECT_EQ(w.end_ms, kMar9 + 24 * kH + 7 * kH);  // 00:00 PDT on the 10th
  EXPECT_EQ(w.end_ms - w.start_ms, 23 * kH);
  // A reset at 02:00, which that day never shows: the day starts when the clocks jump
  // (10:00 UTC), and the next at 02:00 PDT.
  const auto at_two = day_window(kMar9 + 12 * kH, 2, la);
  EXPECT_EQ(at_two.start_ms, kMar9 + 10 * kH);
  EXPECT_EQ(at_two.end_ms, kMar9 + 24 * kH + 9 * kH);
  // Just before the jump, the previous day (from 02:00 PST on the 8th) is still running.
  EXPECT_EQ(day_window(kMar9 + 10 * kH - 1, 2, la).start_ms, kMar9 - 24 * kH + 10 * kH);
}

TEST(TimeZone, TheDayTheClocksFallBackHas25Hours) {
  const auto la = zone("America/Los_Angeles");
  const auto w = day_window(kNov2 + 12 * kH, 0, la);
  EXPECT_EQ(w.start_ms, kNov2 + 7 * kH);          // 00:00 PDT
  EXPECT_EQ(w.end_ms, kNov2 + 24 * kH + 8 * kH);  // 00:00 PST on the 3rd
  EXPECT_EQ(w.end_ms - w.start_ms, 25 * kH);
  // 01:00 happens twice that night: the day starts at the first one (08:00 UTC, PDT).
  EXPECT_EQ(day_window(kNov2 + 8 * kH + 30 * 60'000, 1, la).start_ms, kNov2 + 8 * kH);
  EXPECT_EQ(day_window(kNov2 + 9 * kH + 30 * 60'000, 1, la).start_ms, kNov2 + 8 * kH);
}

TEST(TimeZone, EveryInstantOfAYearLiesInExactlyOneDay) {
  const auto berlin = zone("Europe/Berlin");
  TimeWindow previous = day_window(kJan31, 3, berlin);
  for (std::int64_t t = kJan31; t < kJan31 + 366 * 24 * kH; t += kH / 2) {
    const auto w = day_window(t, 3, berlin);
    ASSERT_LE(w.start_ms, t);
    ASSERT_GT(w.end_ms, t);
    ASSERT_TRUE(w == previous || w.start_ms == previous.end_ms) << t;
    previous = w;
  }
}

TEST(TimeZone, MonthsStartOnTheFirstAtLocalMidnight) {
  const auto la = zone("America/Los_Angeles");
  const auto jan = month_window(kJan31 + 12 * kH, la);
  EXPECT_EQ(jan.start_ms, kJan31 - 30 * 24 * kH + 8 * kH);  // 2025-01-01T08:00Z
  EXPECT_EQ(jan.end_ms, kJan31 + 24 * kH + 8 * kH);         // 2025-02-01T08:00Z
  // 2025-02-01T03:00Z is still January in Los Angeles.
  EXPECT_EQ(month_window(kJan31 + 27 * kH, la), jan);
  EXPECT_EQ(month_window(kJan31 + 12 * kH, TimeZone()),
            (TimeWindow{kJan31 - 30 * 24 * kH, kJan31 + 24 * kH}));
}

TEST(TimeZone, RefusesWhatIsNotATzifFile) {
  EXPECT_FALSE(TimeZone::from_tzif("", "x"));
  EXPECT_FALSE(TimeZone::from_tzif("TZif2 and then nothing useful at all here", "x"));
  std::string cut(60, '\0');
  cut.replace(0, 4, "TZif");
  EXPECT_FALSE(TimeZone::from_tzif(cut, "x"));
}

}  // namespace
}  // namespace bc
