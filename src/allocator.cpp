#include "allocator.h"

#include <cstdlib>

#if defined(BC_WITH_MIMALLOC)
#include <mimalloc.h>
#endif

namespace bc {

#if defined(BC_WITH_MIMALLOC)
std::string allocator_in_use() {
  const int v = mi_version();  // major * 100 + minor * 10 + patch
  const std::string name = "mimalloc " + std::to_string(v / 100) + "." +
                           std::to_string(v / 10 % 10) + "." + std::to_string(v % 10);
  // Linked is not enough: malloc must resolve to mimalloc's, which a block from it shows.
  void* probe = std::malloc(64);
  const bool serves_malloc = mi_is_in_heap_region(probe);
  std::free(probe);
  return serves_malloc ? name : name + " linked, but malloc is the C library's";
}
#else
std::string allocator_in_use() {
  return "the C library's malloc";
}
#endif

}  // namespace bc
