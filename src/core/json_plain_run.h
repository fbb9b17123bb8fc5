// The run of bytes at the start of a JSON string's text that stand for themselves: printable
// ASCII other than '"' and '\\'. Both JSON directions use it: the chunk scanner skips or copies
// such runs while reading, and json_text copies them in one piece while writing.
//
// Why a header of its own: a byte-at-a-time table loop cost ~1 instruction per byte plus a
// branch; this looks at 16 bytes per step. Strings (message contents, chunk deltas) are most
// of the bytes a request or a stream moves.
#pragma once

#include <array>
#include <bit>
#include <cstdint>
#include <cstring>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

namespace bc {

namespace detail {
// The bytes a plain run ends at: the quote, the backslash, control characters, and every byte
// from 0x80 (the start or middle of a multi-byte UTF-8 sequence, checked by the caller).
inline constexpr std::array<bool, 256> kJsonRunStop = [] {
  std::array<bool, 256> stop{};
  for (int c = 0; c < 256; ++c) stop[c] = c < 0x20 || c == '"' || c == '\\' || c >= 0x80;
  return stop;
}();
}  // namespace detail

// The first byte at or after `p` that ends a plain run, or `end`. Sixteen bytes at a time with
// SSE2 (as signed bytes, "less than 0x20" also catches every byte from 0x80), then eight at a
// time (the "has a zero byte" and "has a byte less than n" word tricks, whose lowest flagged
// byte is exactly the first special one), the last few bytes one by one.
inline const char* json_plain_run_end(const char* p, const char* end) {
#if defined(__SSE2__)
  const __m128i quote16 = _mm_set1_epi8('"');
  const __m128i backslash16 = _mm_set1_epi8('\\');
  const __m128i space16 = _mm_set1_epi8(0x20);
  while (end - p >= 16) {
    const __m128i bytes = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p));
    const __m128i stop = _mm_or_si128(
        _mm_or_si128(_mm_cmpeq_epi8(bytes, quote16), _mm_cmpeq_epi8(bytes, backslash16)),
        _mm_cmplt_epi8(bytes, space16));
    if (const int mask = _mm_movemask_epi8(stop); mask != 0)
      return p + std::countr_zero(static_cast<unsigned>(mask));
    p += 16;
  }
#endif
  constexpr std::uint64_t kOnes = 0x0101010101010101ull;
  constexpr std::uint64_t kHighs = 0x8080808080808080ull;
  while (end - p >= 8) {
    std::uint64_t word;
    std::memcpy(&word, p, 8);
    const std::uint64_t quote = word ^ (kOnes * '"');
    const std::uint64_t backslash = word ^ (kOnes * '\\');
    const std::uint64_t special = ((quote - kOnes) & ~quote) | ((backslash - kOnes) & ~backslash) |
                                  (word - kOnes * 0x20) | word;
    if (const std::uint64_t flagged = special & kHighs; flagged != 0) {
      static_assert(std::endian::native == std::endian::little, "the first byte is the lowest");
      return p + std::countr_zero(flagged) / 8;
    }
    p += 8;
  }
  while (p != end && !detail::kJsonRunStop[static_cast<unsigned char>(*p)]) ++p;
  return p;
}

}  // namespace bc
