// An embeddings call in OpenAI's vocabulary (POST /v1/embeddings): the request as the gateway
// reads it from a client, the vectors an upstream answered, and the answer rendered back in
// OpenAI's shape (float arrays or base64 of little-endian float32, as OpenAI does).
// https://platform.openai.com/docs/api-reference/embeddings/create
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/chat.h"
#include "core/result.h"

namespace bc {

struct EmbeddingRequest {
  std::string model;                // required
  std::vector<std::string> inputs;  // one text per vector wanted, in order
  bool single = false;              // `input` was one string, not an array
  std::optional<int> dimensions;    // the caller's `dimensions`
  bool base64 = false;              // encoding_format "base64"

  // Characters of every input: the token estimate (~4 a token) when the upstream gives none.
  std::int64_t content_chars() const;
  std::int64_t estimated_tokens() const;
};

// Reads a client's body. `user` is accepted and ignored; arrays of token arrays are refused
// (the gateway balances over upstreams that take only text). Errors name the member at fault
// in Error::param.
Result<EmbeddingRequest> parse_embedding_request(std::string_view body);

struct EmbeddingResponse {
  std::vector<std::vector<float>> vectors;  // one per input, in the inputs' order
  std::optional<Usage> usage;               // nullopt: the upstream counted no tokens
};

// {"object":"list","data":[{"object":"embedding","index":i,"embedding":...}],"model":...,
//  "usage":{"prompt_tokens":n,"total_tokens":n}}
std::string render_embeddings(const EmbeddingResponse& response, std::string_view model,
                              bool base64, const Usage& usage);

// The little-endian float32 bytes of `vector`, base64 (RFC 4648 §4, padded).
std::string base64_floats(const std::vector<float>& vector);
// The inverse; nullopt when `text` is not base64 of a whole number of floats.
std::optional<std::vector<float>> floats_from_base64(std::string_view text);

// A deterministic unit vector of `dims` components seeded by a hash of `text`: what the mocks
// answer, so that tests can compare vectors across formats and encodings.
std::vector<float> mock_embedding(std::string_view text, int dims);
// The vectors' size the mocks answer when no `dimensions` is asked.
inline constexpr int kMockEmbeddingDims = 16;
// The tokens the mocks count for one input: its whitespace-separated words, at least 1.
std::int64_t mock_embedding_tokens(std::string_view text);

}  // namespace bc
