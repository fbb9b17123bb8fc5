// Compiled once per per-provider target with that target's BC_FUZZ_PROVIDER and
// BC_FUZZ_BASE_URL (fuzz/CMakeLists.txt); everything else is shared.
#include "fuzz_support.h"

#ifndef BC_FUZZ_PROVIDER
#error "BC_FUZZ_PROVIDER must name a provider of src/providers/registry.cpp"
#endif
#ifndef BC_FUZZ_BASE_URL
#define BC_FUZZ_BASE_URL ""
#endif

bc::fuzz::Variant bc::fuzz::variant() {
  return {BC_FUZZ_PROVIDER, BC_FUZZ_BASE_URL};
}
