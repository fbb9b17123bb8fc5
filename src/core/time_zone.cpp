#include "core/time_zone.h"

#include <algorithm>
#include <chrono>
#include <cstring>

namespace bc {

namespace {

constexpr std::int64_t kDayS = 86'400;

std::int64_t floor_div(std::int64_t a, std::int64_t b) {
  return a / b - ((a % b != 0) && ((a < 0) != (b < 0)) ? 1 : 0);
}

// Big-endian integers of a TZif file.
std::int64_t read_be(const unsigned char* p, int bytes) {
  std::uint64_t v = 0;
  for (int i = 0; i < bytes; ++i) v = (v << 8) | p[i];
  if (bytes == 4) return static_cast<std::int32_t>(static_cast<std::uint32_t>(v));
  return static_cast<std::int64_t>(v);
}

struct TzifHeader {
  int version = 0;
  std::int64_t isutcnt = 0, isstdcnt = 0, leapcnt = 0, timecnt = 0, typecnt = 0, charcnt = 0;
  // The size of the data block that follows the header, with `time_bytes`-byte times.
  std::int64_t data_size(int time_bytes) const {
    return timecnt * time_bytes + timecnt + typecnt * 6 + charcnt + leapcnt * (time_bytes + 4) +
           isstdcnt + isutcnt;
  }
};

std::optional<TzifHeader> read_header(std::string_view bytes, std::size_t at) {
  if (bytes.size() < at + 44 || bytes.substr(at, 4) != "TZif") return std::nullopt;
  const auto* p = reinterpret_cast<const unsigned char*>(bytes.data() + at);
  TzifHeader h;
  h.version = p[4] == 0 ? 1 : p[4] - '0';
  h.isutcnt = read_be(p + 20, 4);
  h.isstdcnt = read_be(p + 24, 4);
  h.leapcnt = read_be(p + 28, 4);
  h.timecnt = read_be(p + 32, 4);
  h.typecnt = read_be(p + 36, 4);
  h.charcnt = read_be(p + 40, 4);
  if (h.isutcnt < 0 || h.isstdcnt < 0 || h.leapcnt < 0 || h.timecnt < 0 || h.typecnt <= 0 ||
      h.charcnt < 0 || h.typecnt > 256 || h.timecnt > 100'000) {
    return std::nullopt;
  }
  return h;
}

}  // namespace

TimeZone TimeZone::fixed(std::int32_t offset_s, std::string name) {
  TimeZone z;
  z.name_ = std::move(name);
  z.initial_offset_ = offset_s;
  return z;
}

std::optional<TimeZone> TimeZone::parse_fixed(std::string_view text) {
  if (text == "UTC" || text == "Z" || text == "Etc/UTC") return fixed(0, std::string(text));
  if (text.size() != 3 && text.size() != 6) return std::nullopt;
  if (text[0] != '+' && text[0] != '-') return std::nullopt;
  auto two = [&](std::size_t at) -> int {
    if (text[at] < '0' || text[at] > '9' || text[at + 1] < '0' || text[at + 1] > '9') return -1;
    return (text[at] - '0') * 10 + (text[at + 1] - '0');
  };
  const int hours = two(1);
  int minutes = 0;
  if (text.size() == 6) {
    if (text[3] != ':') return std::nullopt;
    minutes = two(4);
  }
  if (hours < 0 || hours > 14 || minutes < 0 || minutes > 59) return std::nullopt;
  const int sign = text[0] == '-' ? -1 : 1;
  return fixed(sign * (hours * 3600 + minutes * 60), std::string(text));
}

Result<TimeZone> TimeZone::from_tzif(std::string_view bytes, std::string name) {
  auto bad = [&name](std::string why) {
    return Error::invalid_request("time zone " + name + ": " + why, "bad_time_zone");
  };
  auto v1 = read_header(bytes, 0);
  if (!v1) return bad("not a TZif file");
  // Version 2 and later repeat the data with 64-bit times after the version 1 block: use it.
  std::size_t at = 44;
  TzifHeader h = *v1;
  int time_bytes = 4;
  if (v1->version >= 2) {
    const std::size_t second = 44 + static_cast<std::size_t>(v1->data_size(4));
    auto v2 = read_header(bytes, second);
    if (!v2) return bad("its 64-bit block is missing");
    h = *v2;
    at = second + 44;
    time_bytes = 8;
  }
  if (bytes.size() < at + static_cast<std::size_t>(h.data_size(time_bytes))) {
    return bad("the file is cut short");
  }
  const auto* p = reinterpret_cast<const unsigned char*>(bytes.data() + at);
  const auto* times = p;
  const auto* indices = times + h.timecnt * time_bytes;
  const auto* types = indices + h.timecnt;
  std::vector<std::int32_t> type_offsets;
  std::vector<bool> type_dst;
  for (std::int64_t i = 0; i < h.typecnt; ++i) {
    type_offsets.push_back(static_cast<std::int32_t>(read_be(types + i * 6, 4)));
    type_dst.push_back(types[i * 6 + 4] != 0);
  }
  TimeZone z;
  z.name_ = std::move(name);
  // RFC 8536 3.2: before the first transition, the first standard-time type (else type 0).
  z.initial_offset_ = type_offsets[0];
  for (std::size_t i = 0; i < type_dst.size(); ++i) {
    if (!type_dst[i]) {
      z.initial_offset_ = type_offsets[i];
      break;
    }
  }
  for (std::int64_t i = 0; i < h.timecnt; ++i) {
    const std::int64_t t = read_be(times + i * time_bytes, time_bytes);
    const unsigned idx = indices[i];
    if (idx >= type_offsets.size()) return bad("a transition names an unknown type");
    if (!z.transitions_.empty() && t <= z.transitions_.back())
      return bad("transitions out of order");
    z.transitions_.push_back(t);
    z.offsets_.push_back(type_offsets[idx]);
  }
  return z;
}

std::int32_t TimeZone::offset_at(std::int64_t utc_s) const {
  const auto it = std::upper_bound(transitions_.begin(), transitions_.end(), utc_s);
  if (it == transitions_.begin()) return initial_offset_;
  return offsets_[static_cast<std::size_t>(it - transitions_.begin() - 1)];
}

std::int64_t TimeZone::utc_of_local(std::int64_t local_s) const {
  // The offsets a day either side: a zone changes its offset at most once within two days.
  const std::int32_t before = offset_at(local_s - kDayS);
  const std::int32_t after = offset_at(local_s + kDayS);
  if (offset_at(local_s - before) == before) return local_s - before;  // first occurrence
  if (offset_at(local_s - after) == after) return local_s - after;
  return local_s - before;  // in a gap: just after the change
}

TimeWindow day_window(std::int64_t utc_ms, int reset_hour, const TimeZone& zone) {
  const std::int64_t utc_s = floor_div(utc_ms, 1000);
  const std::int64_t local_s = utc_s + zone.offset_at(utc_s);
  std::int64_t day = floor_div(local_s - std::int64_t{reset_hour} * 3600, kDayS);
  auto start_of = [&](std::int64_t d) {
    return zone.utc_of_local(d * kDayS + std::int64_t{reset_hour} * 3600) * 1000;
  };
  // Near a change of offset the local day may be off by one: step until it holds utc_ms.
  while (start_of(day) > utc_ms) --day;
  while (start_of(day + 1) <= utc_ms) ++day;
  return {start_of(day), start_of(day + 1)};
}

TimeWindow month_window(std::int64_t utc_ms, const TimeZone& zone) {
  using namespace std::chrono;
  const std::int64_t utc_s = floor_div(utc_ms, 1000);
  const std::int64_t local_s = utc_s + zone.offset_at(utc_s);
  const year_month_day ymd{sys_days{days{floor_div(local_s, kDayS)}}};
  auto start_of = [&](year_month ym) {
    const sys_days first{ym / 1};
    return zone.utc_of_local(std::int64_t{first.time_since_epoch().count()} * kDayS) * 1000;
  };
  year_month ym = ymd.year() / ymd.month();
  while (start_of(ym) > utc_ms) ym -= months(1);
  while (start_of(ym + months(1)) <= utc_ms) ym += months(1);
  return {start_of(ym), start_of(ym + months(1))};
}

}  // namespace bc
