// bench_slow_streams: many slow streams at once, timed by a client that keeps up with them.
//   bench_slow_streams PORT PATH BODY_FILE N GAP_MS SLACK_MS BEARER
// Opens N streamed chat requests to 127.0.0.1:PORT concurrently (one connection each) and
// checks that every one completes (status 200, `data: [DONE]`) and that no gap between two
// consecutive events exceeds GAP_MS + SLACK_MS. Prints `OPEN {"ms"}` once every stream has its
// first event (run.sh samples memory then) and at the end
// `SLOW
// {"completed","failed","opened","max_gap_ms","p99_gap_ms","late_gaps","limit_ms","seconds"}`.
//
// Why C++ and not Node: 1,000 streams at a 50 ms pace are 20,000 events a second; a Node
// client on two shared cores fell behind by 100-300 ms, so its largest gap measured the client
// rather than the hop. One epoll thread here timestamps each read as it completes.
#include <sys/resource.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <iterator>
#include <string>
#include <string_view>
#include <vector>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>

namespace {

namespace asio = boost::asio;
namespace http = boost::beast::http;
using Clock = std::chrono::steady_clock;

struct Run {
  unsigned short port = 0;
  std::string request;  // the whole HTTP request, sent as is by every stream
  int n = 0;
  double limit_ms = 0;
  Clock::time_point start = Clock::now();
  int opened = 0;
  int completed = 0;
  int failed = 0;
  std::vector<double> gaps_ms;
};

double ms_between(Clock::time_point a, Clock::time_point b) {
  return std::chrono::duration<double, std::milli>(b - a).count();
}

// Counts the complete events ("\n\n"-terminated) at the front of `text`, erases them, and
// tells whether one of them was `data: [DONE]`.
int take_events(std::string& text, bool& done) {
  int events = 0;
  std::size_t from = 0;
  for (std::size_t end; (end = text.find("\n\n", from)) != std::string::npos; from = end + 2) {
    std::string_view event(text.data() + from, end - from);
    while (!event.empty() && (event.back() == '\r' || event.back() == ' ')) event.remove_suffix(1);
    if (event == "data: [DONE]") done = true;
    ++events;
  }
  text.erase(0, from);
  return events;
}

// One stream: connect, send, then time every read that completes at least one event. The
// first event of a stream is not a gap (it measures the upstream's start, not its pace).
asio::awaitable<void> one_stream(Run& run) {
  auto executor = co_await asio::this_coro::executor;
  asio::ip::tcp::socket socket(executor);
  bool ok = false;
  try {
    co_await socket.async_connect({asio::ip::address_v4::loopback(), run.port},
                                  asio::use_awaitable);
    socket.set_option(asio::ip::tcp::no_delay(true));
    co_await asio::async_write(socket, asio::buffer(run.request), asio::use_awaitable);
    boost::beast::flat_buffer buffer;
    http::response_parser<http::string_body> parser;
    parser.body_limit(64 * 1024 * 1024);
    co_await http::async_read_header(socket, buffer, parser, asio::use_awaitable);
    bool done = false;
    bool first = true;
    Clock::time_point last{};
    boost::system::error_code ec;
    while (!parser.is_done()) {
      co_await http::async_read_some(socket, buffer, parser,
                                     asio::redirect_error(asio::use_awaitable, ec));
      if (ec) break;
      const auto now = Clock::now();
      if (take_events(parser.get().body(), done) == 0) continue;
      if (first) {
        first = false;
        if (++run.opened == run.n)
          std::printf("OPEN {\"ms\":%.0f}\n", ms_between(run.start, now)), std::fflush(stdout);
      } else {
        run.gaps_ms.push_back(ms_between(last, now));
      }
      last = now;
    }
    ok = !ec && parser.get().result_int() == 200 && done;
  } catch (const std::exception&) {
    ok = false;
  }
  ++(ok ? run.completed : run.failed);
}

double round1(double v) {
  return std::round(v * 10) / 10;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 8) {
    std::fprintf(stderr,
                 "usage: bench_slow_streams PORT PATH BODY_FILE N GAP_MS SLACK_MS BEARER\n");
    return 2;
  }
  std::ifstream file(argv[3], std::ios::binary);
  if (!file) {
    std::fprintf(stderr, "bench_slow_streams: cannot read %s\n", argv[3]);
    return 2;
  }
  const std::string body{std::istreambuf_iterator<char>(file), {}};
  Run run;
  run.port = static_cast<unsigned short>(std::stoi(argv[1]));
  run.n = std::stoi(argv[4]);
  run.limit_ms = std::stod(argv[5]) + std::stod(argv[6]);
  run.request = std::string("POST ") + argv[2] +
                " HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
                "Authorization: Bearer " +
                argv[7] +
                "\r\nConnection: close\r\nContent-Length: " + std::to_string(body.size()) +
                "\r\n\r\n" + body;
  run.gaps_ms.reserve(static_cast<std::size_t>(run.n) * 64);

  // One descriptor per stream, more than the usual soft limit of 1,024.
  rlimit limit{};
  if (getrlimit(RLIMIT_NOFILE, &limit) == 0 && limit.rlim_cur < limit.rlim_max) {
    limit.rlim_cur = limit.rlim_max;
    setrlimit(RLIMIT_NOFILE, &limit);
  }

  // One thread: every handler runs here, so the counters need no lock.
  asio::io_context io{1};
  for (int i = 0; i < run.n; ++i) asio::co_spawn(io, one_stream(run), asio::detached);
  // Bounded: streams still open after 60 s are cut and count as failed.
  io.run_for(std::chrono::seconds(60));
  run.failed = run.n - run.completed;

  auto& gaps = run.gaps_ms;
  std::sort(gaps.begin(), gaps.end());
  const auto pick = [&gaps](double p) {
    if (gaps.empty()) return 0.0;
    return gaps[std::min(gaps.size() - 1, static_cast<std::size_t>(p * gaps.size()))];
  };
  const auto late =
      std::count_if(gaps.begin(), gaps.end(), [&run](double g) { return g > run.limit_ms; });
  std::printf(
      "SLOW {\"completed\":%d,\"failed\":%d,\"opened\":%d,\"max_gap_ms\":%.1f,"
      "\"p99_gap_ms\":%.1f,\"late_gaps\":%ld,\"limit_ms\":%.0f,\"seconds\":%.3f}\n",
      run.completed, run.failed, run.opened, round1(gaps.empty() ? 0 : gaps.back()),
      round1(pick(0.99)), static_cast<long>(late), run.limit_ms,
      ms_between(run.start, Clock::now()) / 1000);
  return 0;
}
