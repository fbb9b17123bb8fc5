// The built-in mock provider: no network. encode() addresses the in-process mock upstream as
// mock://<model_name> with an OpenAI body; the gateway answers it with mock_answer.h; the
// answer is decoded like OpenAI's.
#pragma once

#include <memory>

#include "providers/provider.h"

namespace bc::providers {

std::unique_ptr<Provider> make_mock(ProviderOptions options);

}  // namespace bc::providers
