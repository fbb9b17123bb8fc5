// mockllm: a mock LLM upstream for tests, demos and benchmarks (see README.md).
//   mockllm [--host 127.0.0.1] [--port 0]
// Prints "mockllm listening on http://<host>:<port>" once listening; exits 0 on SIGTERM/SIGINT.
#include <sys/resource.h>

#include <csignal>
#include <cstdio>
#include <exception>
#include <string>

#include <CLI/CLI.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/address.hpp>
#include <boost/asio/signal_set.hpp>

#include "mockllm/server.h"

namespace {

// Thousands of concurrent connections need more descriptors than the usual soft limit.
void raise_descriptor_limit() {
  rlimit limit{};
  if (getrlimit(RLIMIT_NOFILE, &limit) == 0 && limit.rlim_cur < limit.rlim_max) {
    limit.rlim_cur = limit.rlim_max;
    setrlimit(RLIMIT_NOFILE, &limit);
  }
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"mockllm: mock LLM upstream (OpenAI and Zhipu wire formats)"};
  std::string host = "127.0.0.1";
  unsigned short port = 0;
  app.add_option("--host", host, "address to listen on");
  app.add_option("--port", port, "port to listen on (0: any free port)");
  CLI11_PARSE(app, argc, argv);

  namespace asio = boost::asio;
  std::signal(SIGPIPE, SIG_IGN);
  raise_descriptor_limit();
  try {
    asio::io_context io{1};
    bc::mockllm::Server server(io, {asio::ip::make_address(host), port});
    server.start();
    asio::signal_set signals(io, SIGINT, SIGTERM);
    signals.async_wait([&](const boost::system::error_code& ec, int) {
      if (!ec) server.stop();
    });
    std::printf("mockllm listening on http://%s:%u\n", host.c_str(),
                static_cast<unsigned>(server.port()));
    std::fflush(stdout);
    io.run();
  } catch (const std::exception& e) {
    std::fprintf(stderr, "mockllm: %s\n", e.what());
    return 1;
  }
  return 0;
}
