// The built-in mock provider: no network. encode() addresses the in-process mock upstream as
// mock://<model_name> with an OpenAI body and the model's MockOptions in headers of its own;
// the gateway answers it with mock_answer.h; the answer is decoded like OpenAI's.
#pragma once

#include <memory>
#include <string>

#include "providers/model_options.h"
#include "providers/provider.h"

namespace bc::providers {

// A mock model's own fields (`mock:` in its mapping; ProviderOptions::own_options).
struct MockOptions {
  int latency_ms = 150;           // time before the first token
  double tokens_per_second = 40;  // streaming pace after the first token
  std::string reply;              // fixed answer text; empty: a short answer about the prompt
};
extern const OptionsSpec kMockOptions;

std::unique_ptr<Provider> make_mock(ProviderOptions options);

// The options encode() put in a mock request's headers, so the mock upstream needs no table
// of models; the defaults for a header that is absent or unreadable.
MockOptions mock_options_of(const UpstreamRequest& request);

}  // namespace bc::providers
