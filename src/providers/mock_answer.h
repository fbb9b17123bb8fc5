// The answers of the built-in mock provider, as pure functions of the request, so the
// in-process mock upstream (gateway) and tests produce the same bytes. The gateway sends
// the SSE events with delays: MockOptions::latency_ms before the first, then one piece per
// 1/tokens_per_second.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include <boost/json/object.hpp>

#include "core/chat.h"
#include "providers/mock.h"

namespace bc::providers {

struct MockAnswer {
  std::string id;
  std::int64_t created = 0;
  std::string model;
  std::vector<std::string> pieces;  // the answer text split into tokens, in order
  std::string finish_reason = "stop";
  Usage usage;

  std::string text() const;
};

// Deterministic: the same request, options, model, id and time give the same answer. The
// text is `opts.reply` when set, else "This is a mock answer from <model> to: <the first 40
// characters of the last user message>". Prompt tokens ≈ characters of all message text / 4;
// completion tokens = pieces. A `max_tokens` (or `max_completion_tokens`) below the number of
// pieces cuts the answer and sets finish_reason "length".
MockAnswer make_mock_answer(const boost::json::object& request_body, const MockOptions& opts,
                            std::string_view model, std::string id, std::int64_t created_unix);

// An OpenAI chat.completion.
std::string mock_completion_json(const MockAnswer& answer);

// Complete SSE events, each "data: <chunk>\n\n": a role chunk, one chunk per piece, a final
// chunk with the finish reason and usage, then "data: [DONE]\n\n".
std::vector<std::string> mock_sse_events(const MockAnswer& answer);

// The answer to an OpenAI embeddings body (`input` a string or array of strings, optional
// `dimensions`): mock_embedding() of each input (kMockEmbeddingDims by default) and
// mock_embedding_tokens() as usage. An error when the body has no usable `input`.
Result<std::string> mock_embeddings_json(const boost::json::object& request_body,
                                         std::string_view model);

}  // namespace bc::providers
