// The embedding wire formats, as pure functions each embedding provider calls: OpenAI's
// /embeddings (OpenAI, every compatible upstream, Zhipu), Gemini's embedContent /
// batchEmbedContents, Ollama's /api/embed. The upstream is always asked for floats.
#pragma once

#include <string>
#include <string_view>

#include "core/embedding.h"
#include "providers/openai.h"
#include "providers/provider.h"

namespace bc::providers {

// {"model","input","encoding_format":"float"} and `dimensions` when asked; `input` a string
// when the caller sent one, else the array.
// https://platform.openai.com/docs/api-reference/embeddings/create
std::string openai_embeddings_body(const EmbeddingRequest& request,
                                   std::string_view upstream_model);
// `data[].embedding` (floats, or base64 from an upstream that ignores encoding_format) placed
// by `index`, and `usage`. An error object in the body is classified by `dialect`.
Result<EmbeddingResponse> decode_openai_embeddings(const UpstreamResponse& response,
                                                   const Dialect& dialect);

// Gemini: POST {base}/models/{model}:embedContent for one input, :batchEmbedContents for
// several, `outputDimensionality` for dimensions, the key in x-goog-api-key.
// https://ai.google.dev/api/embeddings
UpstreamRequest gemini_embeddings_request(std::string_view base_url, std::string_view model,
                                          const EmbeddingRequest& request,
                                          const Credential& credential);
// `embedding.values` or `embeddings[].values`; Gemini counts no tokens (usage nullopt).
Result<EmbeddingResponse> decode_gemini_embeddings(const UpstreamResponse& response,
                                                   ErrorClassifier classify);

// Ollama: POST {base}/api/embed {"model","input"} (and `dimensions`), bearer auth only with a
// key. Answer `embeddings` and `prompt_eval_count`.
// https://github.com/ollama/ollama/blob/main/docs/api.md#generate-embeddings
UpstreamRequest ollama_embeddings_request(std::string_view base_url, std::string_view model,
                                          const EmbeddingRequest& request,
                                          const Credential& credential);
Result<EmbeddingResponse> decode_ollama_embeddings(const UpstreamResponse& response,
                                                   ErrorClassifier classify);

}  // namespace bc::providers
