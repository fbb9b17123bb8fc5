// The bytes the micro benchmarks work on: the same request, completion and SSE stream the
// load benchmark sends (bench/load/payload), so a micro figure maps onto a load figure.
#pragma once

#include <fstream>
#include <sstream>
#include <stdexcept>
#include <string>

namespace bc::bench {

inline std::string payload(const std::string& name) {
  std::ifstream in(std::string(BC_BENCH_PAYLOAD_DIR) + "/" + name, std::ios::binary);
  if (!in) throw std::runtime_error("cannot read bench payload " + name);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

}  // namespace bc::bench
