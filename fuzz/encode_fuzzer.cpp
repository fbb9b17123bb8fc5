// ChatRequest::parse of an arbitrary client body, then encode() of every accepted request by
// every provider variant fuzz/CMakeLists.txt lists (the same list as the per-provider
// targets), with and without tool support, for a fixed credential; and the credential
// exchange request where the provider has one. The upstream request must have an http(s)://
// or mock:// url and a JSON object body. A request the scan read (relayed from its own text)
// must encode to the same url, headers and JSON as the same request read as a tree.
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string_view>
#include <vector>

#include "core/chat.h"
#include "fuzz_support.h"
#include "providers/zhipu.h"

namespace {

constexpr bc::fuzz::Variant kVariants[] = {
#include "fuzz_variants.inc"
};

struct Adapters {
  std::vector<std::unique_ptr<bc::providers::Provider>> all;

  Adapters() {
    for (const auto& v : kVariants) {
      for (const bool tools : {true, false}) {
        auto options = bc::fuzz::options(v.base_url);
        options.supports_tools = tools;
        // Zhipu's signed tokens; the others find no options of theirs and use their defaults.
        options.own_options = bc::providers::ZhipuOptions{!tools};
        if (!tools) options.default_temperature.reset();
        all.push_back(bc::fuzz::make(v.provider, std::move(options)));
      }
    }
  }
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static const Adapters adapters;
  auto parsed = bc::ChatRequest::parse({reinterpret_cast<const char*>(data), size});
  if (!parsed) return 0;

  bc::providers::Credential credential;
  credential.secret = "fuzzkeyid.fuzzkeysecret:fuzzsecretkey";
  credential.id = "fuzz-key";
  credential.derived_token = "24.fuzz-access-token";
  credential.now_unix_ms = 1'700'000'000'000;
  // The same request read as a tree, when parse() relayed it from its scanned text.
  std::optional<bc::ChatRequest> tree;
  if (parsed->raw() != nullptr) {
    auto reference = bc::ChatRequest::parse_tree({reinterpret_cast<const char*>(data), size});
    if (!reference) bc::fuzz::fail("the tree refuses a request the scan accepted");
    tree = std::move(reference).value();
  }
  for (const auto& adapter : adapters.all) {
    if (auto request = adapter->encode(*parsed, credential)) {
      bc::fuzz::check_request(*request);
      if (tree) {
        auto expected = adapter->encode(*tree, credential);
        if (!expected) bc::fuzz::fail("the tree form of a request does not encode");
        if (expected->url != request->url || expected->headers != request->headers ||
            !bc::fuzz::same_json(expected->body, request->body)) {
          bc::fuzz::fail("a scanned request encodes otherwise than its tree");
        }
      }
    } else {
      bc::fuzz::check_error(request.error());
    }
    if (auto exchange = adapter->credential_request(credential)) {
      bc::fuzz::check_request(*exchange);
    }
  }
  return 0;
}
