// net/response_parser.h against Beast's parser (net/beast_response_parser.h, the upstream
// client's parser before it) over the same bytes cut into the same pieces, fed the way the
// client feeds them. The first input byte picks the cuts; the second, with bit 0, a response to
// HEAD and, with bit 1, a 64-byte head limit. Properties: ResponseParser never takes an answer
// Beast's refused, and where both take one they agree on its status, fields, body,
// keep-alive and where it ended. (It may refuse what Beast took: it is stricter by design.)
#include <cstddef>
#include <cstdint>
#include <string>

#include "fuzz_support.h"
#include "net/response_parse_compare.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  bc::fuzz::Input in(data, size);
  const std::uint8_t seed = in.byte();
  const std::uint8_t flags = in.byte();
  const bool head = (flags & 1) != 0;
  const std::uint32_t limit = (flags & 2) != 0 ? 64 : 8192;
  const auto pieces = bc::fuzz::split(in.rest(), seed);
  using bc::net::testing::parse_pieces;
  const auto ours = parse_pieces<bc::net::ResponseParser>(pieces, head, limit);
  const auto beast = parse_pieces<bc::net::BeastResponseParser>(pieces, head, limit);
  if (ours.ok && !beast.ok) bc::fuzz::fail("ResponseParser took an answer Beast's parser refused");
  if (ours.ok && !(ours == beast)) bc::fuzz::fail("the parsers disagree on a message both took");
  return 0;
}
