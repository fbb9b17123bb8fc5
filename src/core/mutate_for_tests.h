// Small random edits of a text, for the tests that hold a fast parser to its reference over
// mutated inputs (chat_test, chunk_scan_test, response_parser_test). Header-only, test use.
#pragma once

#include <random>
#include <string>
#include <string_view>

namespace bc::testing {

// 1 to `max_edits` edits of `text`, each replacing a byte, erasing 1 to `max_erase` bytes or
// inserting one byte; new bytes come from `alphabet`.
inline std::string mutate(std::string text, std::mt19937& rng, std::string_view alphabet,
                          int max_edits, int max_erase) {
  const int edits = 1 + static_cast<int>(rng() % static_cast<unsigned>(max_edits));
  for (int e = 0; e < edits && !text.empty(); ++e) {
    const std::size_t at = rng() % text.size();
    switch (rng() % 3) {
      case 0:
        text[at] = alphabet[rng() % alphabet.size()];
        break;
      case 1:
        text.erase(at, 1 + rng() % static_cast<unsigned>(max_erase));
        break;
      default:
        text.insert(at, 1, alphabet[rng() % alphabet.size()]);
    }
  }
  return text;
}

}  // namespace bc::testing
