// "Did you mean ...?" for misspelled config keys and model names.
#pragma once

#include <optional>
#include <span>
#include <string>
#include <string_view>

namespace bc::config {

// Edit distance counting an insertion, deletion, substitution or swap of two neighbouring
// characters as one edit (optimal string alignment), case-insensitive.
std::size_t edit_distance(std::string_view a, std::string_view b);

// The candidate closest to `word`, when it is close enough to be a likely typo: at most one
// edit for words up to 4 characters, two up to 8, three beyond. Ties go to the earlier
// candidate.
std::optional<std::string> closest_match(std::string_view word,
                                         std::span<const std::string> candidates);

}  // namespace bc::config
