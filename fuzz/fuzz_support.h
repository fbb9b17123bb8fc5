// Shared pieces of the libFuzzer targets: a byte reader over the fuzz input, the provider
// variant a target is built for, and the properties every target checks beyond "no crash".
// A broken property calls fail(), which aborts so that libFuzzer saves the input.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "core/chat.h"
#include "core/error.h"
#include "providers/provider.h"

namespace bc::fuzz {

[[noreturn]] inline void fail(std::string_view what) {
  std::fprintf(stderr, "fuzz property broken: %.*s\n", static_cast<int>(what.size()), what.data());
  std::abort();
}

// Reads the fuzz input front to back; past the end every read gives 0 / empty.
class Input {
 public:
  Input(const std::uint8_t* data, std::size_t size)
      : bytes_(reinterpret_cast<const char*>(data), size) {}

  std::uint8_t byte() {
    if (bytes_.empty()) return 0;
    const auto b = static_cast<std::uint8_t>(bytes_.front());
    bytes_.remove_prefix(1);
    return b;
  }
  std::string_view take(std::size_t n) {
    const std::string_view head = bytes_.substr(0, n);
    bytes_.remove_prefix(head.size());
    return head;
  }
  std::string_view rest() const { return bytes_; }

 private:
  std::string_view bytes_;
};

// The characters of an HTTP token (a method, a field name).
inline constexpr std::string_view kTokenChars =
    "!#$%&'*+-.^_`|~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

// Header fields as (name, value) pairs.
using Fields = std::vector<std::pair<std::string, std::string>>;
// Whether a parser read `read` from a head written with `written`: the same fields with the
// same values (a parser drops the white space around a value), grouped by name in the order
// written. (Beast files a field after the last one of its name, so it reads repeated names
// together, whatever came between them.)
bool same_fields(Fields written, Fields read);

// Cuts `bytes` into pieces whose sizes follow from `seed`: 0 keeps it whole, otherwise sizes
// drawn from 1 .. 1 + seed % 64 (a small xorshift), so one byte of input picks anything from
// byte-by-byte to large pieces.
std::vector<std::string_view> split(std::string_view bytes, std::uint8_t seed);

// The provider variant a per-provider target was built for (fuzz/CMakeLists.txt passes the
// registry name and an optional base_url as compile definitions of variant.cpp).
struct Variant {
  std::string_view provider;
  std::string_view base_url;
};
Variant variant();

// Fixed, realistic options for a fuzzed adapter (tools supported, a default temperature).
providers::ProviderOptions options(std::string_view base_url);
// The adapter for `provider`; aborts when the registry refuses the options.
std::unique_ptr<providers::Provider> make(std::string_view provider,
                                          providers::ProviderOptions options);
inline std::unique_ptr<providers::Provider> make(const Variant& v) {
  return make(v.provider, options(v.base_url));
}

// Properties of what an adapter hands to the gateway, whatever the upstream sent.
void check_error(const Error& error);
void check_delta(const ChatDelta& delta);
void check_request(const UpstreamRequest& request);

// Whether two JSON texts say the same: the same members in the same order, the same strings,
// and numbers of the same value. A number's spelling may differ (a relayed request keeps the
// caller's), and Boost.JSON's fast number parsing may round a long decimal differently from
// its own shortest spelling by a last bit, so doubles agree within 1e-12 of their size.
bool same_json(std::string_view a, std::string_view b);

}  // namespace bc::fuzz
