// The embedding endpoints the mock serves, one row per wire format: OpenAI's /v1/embeddings
// (also Zhipu's /api/paas/v4/embeddings), Gemini's :embedContent and :batchEmbedContents,
// Ollama's /api/embed. Pure: each reads a request and writes an answer; keys, fault plans and
// error bodies are those of the chat format of the same provider (wire_format.h).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "core/embedding.h"
#include "mockllm/wire_format.h"

namespace bc::mockllm {

struct EmbedCall {
  std::string model;
  std::vector<std::string> inputs;
  int dimensions = kMockEmbeddingDims;  // unless the request asks
  bool single = false;  // one input, answered as one embedding where the format differs
};

class EmbedFormat {
 public:
  virtual ~EmbedFormat() = default;
  // The chat format of the same provider: how a request names its key, the error bodies.
  virtual const WireFormat& wire() const = 0;
  virtual Result<EmbedCall> parse(const IncomingRequest& request) const = 0;
  // The answer: mock_embedding() of each input, and the tokens counted where the format
  // carries them (mock_embedding_tokens() of each input).
  virtual std::string answer(const EmbedCall& call) const = 0;
};

// The format serving `path` (without its query string), or nullptr.
const EmbedFormat* find_embed_format(std::string_view path);

}  // namespace bc::mockllm
