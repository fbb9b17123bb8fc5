// A real redis-server for the state tests: started on a free 127.0.0.1 port (and a unix
// socket) in a temporary directory, with nothing persisted, and stopped by its PID.
#pragma once

#include <netinet/in.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>

extern char** environ;

namespace bc::state::testing {

inline int free_port() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof addr;
  ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  ::close(fd);
  return ntohs(addr.sin_port);
}

class RedisServer {
 public:
  explicit RedisServer(std::string password = {}, int port = 0)
      : port_(port != 0 ? port : free_port()) {
    char pattern[] = "/tmp/bc-redis-XXXXXX";
    dir_ = ::mkdtemp(pattern);
    socket_path_ = dir_ + "/redis.sock";
    std::vector<std::string> args = {"redis-server",
                                     "--port",
                                     std::to_string(port_),
                                     "--bind",
                                     "127.0.0.1",
                                     "--save",
                                     "",
                                     "--appendonly",
                                     "no",
                                     "--dir",
                                     dir_,
                                     "--unixsocket",
                                     socket_path_,
                                     "--logfile",
                                     dir_ + "/redis.log"};
    if (!password.empty()) {
      args.emplace_back("--requirepass");
      args.push_back(password);
    }
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    if (::posix_spawnp(&pid_, "redis-server", nullptr, nullptr, argv.data(), environ) != 0) {
      throw std::runtime_error("cannot start redis-server (apt-get install redis-server)");
    }
    wait_until_listening();
  }
  ~RedisServer() {
    kill(SIGKILL);
    std::filesystem::remove_all(dir_);
  }

  int port() const { return port_; }
  const std::string& socket_path() const { return socket_path_; }
  void signal(int sig) const {
    if (pid_ > 0) ::kill(pid_, sig);
  }
  void kill(int sig) {
    if (pid_ <= 0) return;
    ::kill(pid_, SIGCONT);
    ::kill(pid_, sig);
    ::waitpid(pid_, nullptr, 0);
    pid_ = -1;
  }

 private:
  void wait_until_listening() const {
    for (int i = 0; i < 500; ++i) {
      if (std::filesystem::exists(socket_path_)) return;
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    throw std::runtime_error("redis-server did not start within 5 s");
  }

  int port_;
  pid_t pid_ = -1;
  std::string dir_;
  std::string socket_path_;
};

// Runs one coroutine test against `server` on an io_context of its own, until everything it
// started ends; an exception the test throws fails it. (Tests are free functions: GCC 12
// miscompiles some coroutine lambdas.)
inline void run(boost::asio::awaitable<void> (*test)(RedisServer&), RedisServer& server) {
  boost::asio::io_context io;
  bool finished = false;
  boost::asio::co_spawn(io, test(server), [&](std::exception_ptr e) {
    finished = true;
    if (e) std::rethrow_exception(e);
  });
  io.run();
  ASSERT_TRUE(finished);
}

}  // namespace bc::state::testing
