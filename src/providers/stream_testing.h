// Test helpers (used only by *_test.cpp): run a stream decoder over bytes cut into pieces,
// and check that every way of cutting gives the same result.
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <gtest/gtest.h>

#include "providers/provider.h"

namespace bc::providers::testing {

struct Decoded {
  std::vector<ChatDelta> deltas;
  std::optional<Error> error;  // the first error from feed() or finish()
  bool done = false;
};

using DecoderFactory = std::function<std::unique_ptr<StreamDecoder>()>;

inline Decoded decode_pieces(const DecoderFactory& make,
                             const std::vector<std::string_view>& pieces) {
  Decoded d;
  auto decoder = make();
  for (auto piece : pieces) {
    Status st = decoder->feed(piece, d.deltas);
    if (!st) {
      d.error = st.error();
      d.done = decoder->done();
      return d;
    }
  }
  Status st = decoder->finish(d.deltas);
  if (!st) d.error = st.error();
  d.done = decoder->done();
  return d;
}

inline Decoded decode_whole(const DecoderFactory& make, std::string_view bytes) {
  return decode_pieces(make, {bytes});
}

inline bool same_usage(const std::optional<Usage>& a, const std::optional<Usage>& b) {
  if (a.has_value() != b.has_value()) return false;
  if (!a) return true;
  return a->prompt_tokens == b->prompt_tokens && a->completion_tokens == b->completion_tokens &&
         a->total_tokens == b->total_tokens;
}

inline void expect_same(const Decoded& want, const Decoded& got, const std::string& how) {
  ASSERT_EQ(want.deltas.size(), got.deltas.size()) << how;
  for (std::size_t i = 0; i < want.deltas.size(); ++i) {
    EXPECT_EQ(want.deltas[i].chunk_json, got.deltas[i].chunk_json) << how << " chunk " << i;
    EXPECT_EQ(want.deltas[i].text, got.deltas[i].text) << how << " chunk " << i;
    EXPECT_EQ(want.deltas[i].finish_reason, got.deltas[i].finish_reason) << how << " chunk " << i;
    EXPECT_TRUE(same_usage(want.deltas[i].usage, got.deltas[i].usage)) << how << " chunk " << i;
  }
  EXPECT_EQ(want.error.has_value(), got.error.has_value()) << how;
  if (want.error && got.error) {
    EXPECT_EQ(want.error->message, got.error->message) << how;
    EXPECT_EQ(want.error->kind, got.error->kind) << how;
  }
  EXPECT_EQ(want.done, got.done) << how;
}

// Feeds `bytes` whole, cut in two at every position, and byte by byte; all must agree.
// Returns the whole-feed result for further checks.
inline Decoded expect_split_invariant(const DecoderFactory& make, std::string_view bytes) {
  const Decoded whole = decode_whole(make, bytes);
  for (std::size_t cut = 0; cut <= bytes.size(); ++cut) {
    expect_same(whole, decode_pieces(make, {bytes.substr(0, cut), bytes.substr(cut)}),
                "cut at " + std::to_string(cut));
    if (::testing::Test::HasFailure()) return whole;
  }
  std::vector<std::string_view> bytewise;
  for (std::size_t i = 0; i < bytes.size(); ++i) bytewise.push_back(bytes.substr(i, 1));
  expect_same(whole, decode_pieces(make, bytewise), "byte by byte");
  return whole;
}

}  // namespace bc::providers::testing
