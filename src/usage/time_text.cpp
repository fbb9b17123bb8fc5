#include "usage/time_text.h"

#include <charconv>
#include <chrono>
#include <cstdio>

namespace bc::usage {

namespace {

// Reads exactly `digits` digits at `pos`.
std::optional<int> read_digits(std::string_view text, std::size_t pos, std::size_t digits) {
  if (pos + digits > text.size()) return std::nullopt;
  int value = 0;
  for (std::size_t i = pos; i < pos + digits; ++i) {
    if (text[i] < '0' || text[i] > '9') return std::nullopt;
    value = value * 10 + (text[i] - '0');
  }
  return value;
}

}  // namespace

std::optional<std::int64_t> parse_time_ms(std::string_view text) {
  using namespace std::chrono;
  if (text.empty()) return std::nullopt;
  // Unix seconds: digits only (a date has dashes).
  if (text.find_first_not_of("0123456789") == std::string_view::npos) {
    std::int64_t seconds = 0;
    const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), seconds);
    if (ec != std::errc() || end != text.data() + text.size()) return std::nullopt;
    return seconds * 1000;
  }
  if (text.back() == 'Z') text.remove_suffix(1);
  const auto y = read_digits(text, 0, 4);
  const auto mo = read_digits(text, 5, 2);
  const auto d = read_digits(text, 8, 2);
  if (!y || !mo || !d || text[4] != '-' || text[7] != '-') return std::nullopt;
  const year_month_day ymd{year(*y), month(static_cast<unsigned>(*mo)),
                           day(static_cast<unsigned>(*d))};
  if (!ymd.ok()) return std::nullopt;
  int hh = 0, mm = 0, ss = 0;
  if (text.size() > 10) {
    if (text[10] != 'T' && text[10] != ' ') return std::nullopt;
    const auto h = read_digits(text, 11, 2);
    if (!h || *h > 23) return std::nullopt;
    hh = *h;
    if (text.size() > 13) {
      const auto m = read_digits(text, 14, 2);
      if (text[13] != ':' || !m || *m > 59) return std::nullopt;
      mm = *m;
    }
    if (text.size() > 16) {
      const auto s = read_digits(text, 17, 2);
      if (text[16] != ':' || !s || *s > 59 || text.size() != 19) return std::nullopt;
      ss = *s;
    }
    if (text.size() != 13 && text.size() != 16 && text.size() != 19) return std::nullopt;
  } else if (text.size() != 10) {
    return std::nullopt;
  }
  const auto at = sys_days(ymd) + hours(hh) + minutes(mm) + seconds(ss);
  return duration_cast<milliseconds>(at.time_since_epoch()).count();
}

std::optional<std::int64_t> parse_span_ms(std::string_view text) {
  if (text.size() < 2) return std::nullopt;
  std::int64_t unit = 0;
  switch (text.back()) {
    case 'm':
      unit = 60'000;
      break;
    case 'h':
      unit = 3'600'000;
      break;
    case 'd':
      unit = 86'400'000;
      break;
    case 'w':
      unit = 7 * 86'400'000LL;
      break;
    default:
      return std::nullopt;
  }
  std::int64_t n = 0;
  const auto* end = text.data() + text.size() - 1;
  const auto [ptr, ec] = std::from_chars(text.data(), end, n);
  if (ec != std::errc() || ptr != end || n <= 0 || n > 100'000) return std::nullopt;
  return n * unit;
}

std::optional<std::int64_t> parse_since_ms(std::string_view text, std::int64_t now_ms) {
  if (auto span = parse_span_ms(text)) return now_ms - *span;
  return parse_time_ms(text);
}

std::string iso_utc(std::int64_t ms) {
  using namespace std::chrono;
  const sys_seconds at{seconds(ms >= 0 ? ms / 1000 : (ms - 999) / 1000)};
  const auto days = floor<std::chrono::days>(at);
  const year_month_day ymd{days};
  const hh_mm_ss hms{at - days};
  char buf[64];
  std::snprintf(buf, sizeof buf, "%04d-%02u-%02uT%02ld:%02ld:%02ldZ", static_cast<int>(ymd.year()),
                static_cast<unsigned>(ymd.month()), static_cast<unsigned>(ymd.day()),
                static_cast<long>(hms.hours().count()), static_cast<long>(hms.minutes().count()),
                static_cast<long>(hms.seconds().count()));
  return buf;
}

}  // namespace bc::usage
