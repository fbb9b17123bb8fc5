// Which allocator serves malloc and operator new in this process, for the startup log.
//
// Release builds link mimalloc (Debian's libmimalloc-dev): a proxied request makes some 40
// allocations, and mimalloc's take about 5 % fewer of the gateway's instructions than the C
// library's malloc (callgrind, bench/load/profile.sh). Sanitizer and fuzz builds keep the C
// library's, which the sanitizers replace with their own.
#pragma once

#include <string>

namespace bc {

// "mimalloc 2.0.9", or "the C library's malloc".
std::string allocator_in_use();

}  // namespace bc
