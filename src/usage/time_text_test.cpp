#include "usage/time_text.h"

#include <gtest/gtest.h>

namespace bc::usage {
namespace {

constexpr std::int64_t kDay0 = 1'738'281'600'000;  // 2025-01-31T00:00:00Z

TEST(TimeText, ReadsDatesTimesAndUnixSeconds) {
  EXPECT_EQ(parse_time_ms("2025-01-31"), kDay0);
  EXPECT_EQ(parse_time_ms("2025-01-31T12"), kDay0 + 12 * 3'600'000);
  EXPECT_EQ(parse_time_ms("2025-01-31T12:30"), kDay0 + 12 * 3'600'000 + 30 * 60'000);
  EXPECT_EQ(parse_time_ms("2025-01-31T12:30:05Z"), kDay0 + 12 * 3'600'000 + 30 * 60'000 + 5000);
  EXPECT_EQ(parse_time_ms("1738281600"), kDay0);
}

TEST(TimeText, RefusesWhatIsNotATime) {
  for (const char* bad : {"", "2025-02-30", "2025-1-31", "2025-01-31T25", "2025-01-31T12:3",
                          "yesterday", "2025-01-31T12:30:00+02:00", "-5"}) {
    EXPECT_FALSE(parse_time_ms(bad)) << bad;
  }
}

TEST(TimeText, ReadsSpansBackFromNow) {
  EXPECT_EQ(parse_span_ms("90m"), 90 * 60'000);
  EXPECT_EQ(parse_span_ms("7d"), 7 * 86'400'000LL);
  EXPECT_EQ(parse_since_ms("1d", kDay0), kDay0 - 86'400'000);
  EXPECT_EQ(parse_since_ms("2025-01-31", 0), kDay0);
  EXPECT_FALSE(parse_span_ms("0d"));
  EXPECT_FALSE(parse_span_ms("d"));
  EXPECT_FALSE(parse_span_ms("3y"));
}

TEST(TimeText, WritesIsoUtc) {
  EXPECT_EQ(iso_utc(kDay0 + 3'723'000), "2025-01-31T01:02:03Z");
  EXPECT_EQ(parse_time_ms(iso_utc(kDay0 + 3'723'000)), kDay0 + 3'723'000);
}

}  // namespace
}  // namespace bc::usage
