// mockllm: a mock LLM upstream for tests, demos and benchmarks (see README.md).
//   mockllm [--host 127.0.0.1] [--port 0] [--tls-cert cert.pem --tls-key key.pem]
// Prints "mockllm listening on http(s)://<host>:<port>" once listening; exits 0 on
// SIGTERM/SIGINT.
#include <sys/resource.h>

#include <csignal>
#include <cstdio>
#include <exception>
#include <optional>
#include <string>

#include <CLI/CLI.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/address.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/ssl/context.hpp>

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
  std::string tls_cert;
  std::string tls_key;
  auto* cert_opt =
      app.add_option("--tls-cert", tls_cert, "serve HTTPS with this PEM certificate chain");
  auto* key_opt = app.add_option("--tls-key", tls_key, "the PEM private key for --tls-cert");
  cert_opt->needs(key_opt);
  key_opt->needs(cert_opt);
  CLI11_PARSE(app, argc, argv);

  namespace asio = boost::asio;
  std::signal(SIGPIPE, SIG_IGN);
  raise_descriptor_limit();
  try {
    asio::io_context io{1};
    std::optional<asio::ssl::context> tls;
    if (!tls_cert.empty()) {
      tls.emplace(asio::ssl::context::tls_server);
      tls->use_certificate_chain_file(tls_cert);
      tls->use_private_key_file(tls_key, asio::ssl::context::pem);
    }
    bc::mockllm::Server server(io, {asio::ip::make_address(host), port}, tls ? &*tls : nullptr);
    server.start();
    asio::signal_set signals(io, SIGINT, SIGTERM);
    signals.async_wait([&](const boost::system::error_code& ec, int) {
      if (!ec) server.stop();
    });
    std::printf("mockllm listening on %s://%s:%u\n", tls ? "https" : "http", host.c_str(),
                static_cast<unsigned>(server.port()));
    std::fflush(stdout);
    io.run();
  } catch (const std::exception& e) {
    std::fprintf(stderr, "mockllm: %s\n", e.what());
    return 1;
  }
  return 0;
}
