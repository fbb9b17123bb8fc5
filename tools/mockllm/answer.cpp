#include "mockllm/answer.h"

#include <array>

namespace bc::mockllm {

std::string Answer::text() const {
  std::string out;
  for (const auto& piece : pieces) out += piece;
  return out;
}

std::vector<std::string> tool_argument_fragments() {
  const std::string_view all = kToolArguments;
  return {std::string(all.substr(0, 6)), std::string(all.substr(6, 5)),
          std::string(all.substr(11))};
}

std::vector<std::string> answer_pieces(std::string_view model, std::string_view key_name,
                                       int count) {
  const std::array<std::string, 6> cycle = {
      "Hello", " from", " " + std::string(model), " via", " " + std::string(key_name), "."};
  std::vector<std::string> pieces;
  pieces.reserve(static_cast<std::size_t>(count > 0 ? count : 0));
  for (int i = 0; i < count; ++i) {
    const auto slot = static_cast<std::size_t>(i) % cycle.size();
    // Later rounds start with a space so the text stays readable: "... via k1. Hello from".
    pieces.push_back(slot == 0 && i > 0 ? " " + cycle[0] : cycle[slot]);
  }
  return pieces;
}

}  // namespace bc::mockllm
