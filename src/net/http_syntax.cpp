// The out-of-line pieces of http_syntax.h: the SSE2 scan of a head's field lines and the
// chunk-extension grammar.
#include "net/http_syntax.h"

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

namespace bc::net::http_syntax {

// Sixteen bytes at a time with SSE2: a head's fields are a few hundred bytes, and a byte at
// a time cost some 1,000 instructions per response.
bool are_text_lines(std::string_view block, std::size_t lines) {
  std::size_t cr = 0;
  std::size_t lf = 0;
  std::size_t i = 0;
  bool ok = true;
#if defined(__SSE2__)
  const __m128i zero = _mm_setzero_si128();
  const __m128i space = _mm_set1_epi8(0x20);
  const __m128i tab = _mm_set1_epi8('\t');
  const __m128i cr16 = _mm_set1_epi8('\r');
  const __m128i lf16 = _mm_set1_epi8('\n');
  const __m128i del = _mm_set1_epi8(0x7f);
  const __m128i one = _mm_set1_epi8(1);
  // CRs and LFs counted as byte sums (psadbw): x86-64's baseline has no popcnt instruction,
  // and std::popcount would be a libgcc call per block.
  __m128i cr_sum = zero;
  __m128i lf_sum = zero;
  for (; i + 16 <= block.size(); i += 16) {
    const __m128i b = _mm_loadu_si128(reinterpret_cast<const __m128i*>(block.data() + i));
    // Compared as signed bytes: obs-text (0x80 and up) is negative, not a control character.
    const __m128i control = _mm_andnot_si128(_mm_cmplt_epi8(b, zero), _mm_cmplt_epi8(b, space));
    const __m128i is_cr = _mm_cmpeq_epi8(b, cr16);
    const __m128i is_lf = _mm_cmpeq_epi8(b, lf16);
    const __m128i allowed = _mm_or_si128(_mm_cmpeq_epi8(b, tab), _mm_or_si128(is_cr, is_lf));
    const __m128i bad = _mm_or_si128(_mm_andnot_si128(allowed, control), _mm_cmpeq_epi8(b, del));
    ok &= _mm_movemask_epi8(bad) == 0;
    cr_sum = _mm_add_epi64(cr_sum, _mm_sad_epu8(_mm_and_si128(is_cr, one), zero));
    lf_sum = _mm_add_epi64(lf_sum, _mm_sad_epu8(_mm_and_si128(is_lf, one), zero));
  }
  const auto total = [](__m128i sums) {
    return static_cast<std::size_t>(_mm_cvtsi128_si64(sums)) +
           static_cast<std::size_t>(_mm_cvtsi128_si64(_mm_unpackhi_epi64(sums, sums)));
  };
  cr = total(cr_sum);
  lf = total(lf_sum);
#endif
  for (; i < block.size(); ++i) {
    const char c = block[i];
    cr += c == '\r';
    lf += c == '\n';
    ok &= c == '\r' || c == '\n' || kText[static_cast<unsigned char>(c)];
  }
  return ok && cr == lines && lf == lines;
}

bool valid_chunk_extensions(std::string_view s) {
  auto skip_ws = [&s] {
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  };
  auto token = [&s] {
    std::size_t n = 0;
    while (n < s.size() && is_token_char(static_cast<unsigned char>(s[n]))) ++n;
    s.remove_prefix(n);
    return n > 0;
  };
  for (;;) {
    // Whitespace leads only to a ';' (or, after a name, an '='): none may end the line.
    if (s.empty()) return true;
    skip_ws();
    if (s.empty() || s.front() != ';') return false;
    s.remove_prefix(1);
    skip_ws();
    if (!token()) return false;
    const auto after_name = s;
    skip_ws();
    if (s.empty() || s.front() != '=') {
      s = after_name;
      continue;
    }
    s.remove_prefix(1);
    skip_ws();
    if (s.empty()) return false;
    if (s.front() != '"') {
      if (!token()) return false;
      continue;
    }
    // quoted-string: qdtext or a quoted-pair, up to the closing quote
    s.remove_prefix(1);
    for (;;) {
      if (s.empty()) return false;
      const auto c = static_cast<unsigned char>(s.front());
      s.remove_prefix(1);
      if (c == '"') break;
      if (c == '\\') {
        if (s.empty()) return false;
        const auto q = static_cast<unsigned char>(s.front());
        if (q != '\t' && (q < 0x20 || q == 0x7f)) return false;
        s.remove_prefix(1);
      } else if (c != '\t' && (c < 0x20 || c == 0x7f)) {
        return false;
      }
    }
  }
}

}  // namespace bc::net::http_syntax
