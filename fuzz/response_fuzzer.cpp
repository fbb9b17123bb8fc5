// One provider's answer readers fed an arbitrary upstream answer. An input whose first byte
// is ASCII (a JSON body starts with '{') is the body of a 200 answer: decode(),
// decode_credential() as for a token exchange, and decode_embeddings() when it embeds. Any other
// first byte makes an error answer of the bytes after it: a status and Retry-After / Date headers,
// then the body, for classify() and decode_credential().
#include <cstddef>
#include <cstdint>
#include <string>

#include <boost/json/serialize.hpp>

#include "fuzz_support.h"

namespace {

// Status and headers after the mode byte: two bytes of status (100 + n % 500), one byte
// choosing which of retry-after-ms / retry-after / date are present, each then read as one
// length byte (at most 40) and that many bytes; the rest is the body.
bc::UpstreamResponse error_answer(bc::fuzz::Input& in) {
  bc::UpstreamResponse answer;
  const unsigned hi = in.byte();
  answer.status = 100 + static_cast<int>(((hi << 8) | in.byte()) % 500);
  const std::uint8_t which = in.byte();
  constexpr const char* kNames[] = {"retry-after-ms", "retry-after", "date"};
  for (unsigned i = 0; i < 3; ++i) {
    if ((which & (1u << i)) == 0) continue;
    const std::size_t n = in.byte() % 41;
    answer.headers.push_back({kNames[i], std::string(in.take(n))});
  }
  answer.body = std::string(in.rest());
  return answer;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static const auto provider = bc::fuzz::make(bc::fuzz::variant());

  if (size == 0 || data[0] < 0x80) {
    bc::UpstreamResponse ok;
    ok.status = 200;
    ok.headers.push_back({"content-type", "application/json"});
    ok.body.assign(reinterpret_cast<const char*>(data), size);
    if (auto decoded = provider->decode(ok)) {
      // What the gateway does with a decoded answer: serialize it, read its text.
      const auto completion = decoded->completion_object();
      const auto* choices = completion.if_contains("choices");
      if (choices == nullptr || !choices->is_array()) bc::fuzz::fail("completion without choices");
      (void)boost::json::serialize(completion);
      (void)decoded->text();
    } else {
      bc::fuzz::check_error(decoded.error());
    }
    if (auto credential = provider->decode_credential(ok); !credential) {
      bc::fuzz::check_error(credential.error());
    }
    if (provider->embeds()) {
      // The same bytes as an embeddings answer: vectors the gateway can render, or an error.
      if (auto vectors = provider->decode_embeddings(ok)) {
        (void)bc::render_embeddings(*vectors, "m", true, bc::Usage{});
      } else {
        bc::fuzz::check_error(vectors.error());
      }
    }
    return 0;
  }

  bc::fuzz::Input in(data + 1, size - 1);
  const bc::UpstreamResponse bad = error_answer(in);
  bc::fuzz::check_error(provider->classify(bad.status, bad.headers, bad.body));
  if (auto credential = provider->decode_credential(bad); !credential) {
    bc::fuzz::check_error(credential.error());
  }
  return 0;
}
