// What reached the mock, per key name, served as JSON at GET /_mock/stats so tests can check
// concurrency and QPS from the upstream's side. Pure (time is a parameter) and single-threaded:
// the server runs one io_context thread.
//
// Invariant per key: requests == completed + client_closed + in_flight.
#pragma once

#include <cstdint>
#include <deque>
#include <map>
#include <string>
#include <string_view>
#include <unordered_set>

#include "core/clock.h"

namespace bc::mockllm {

struct KeyStats {
  std::uint64_t requests = 0;
  std::int64_t in_flight = 0;
  std::int64_t max_in_flight = 0;
  // Answered to the end as planned (errors and deliberate cuts included).
  std::uint64_t completed = 0;
  // Abandoned by the client before the end: the connection closed before or during the answer.
  std::uint64_t client_closed = 0;
  // Access tokens issued for the key (Baidu legacy token exchange); not requests.
  std::uint64_t tokens_issued = 0;
  // Arrival times, ms since the mock started; the last kMaxStarts only.
  std::deque<std::int64_t> starts_ms;
  // Requests whose body this key had already received: a gateway that retries a request on a
  // key it already tried shows up here (tests send a distinct prompt per request).
  std::uint64_t repeats = 0;
  std::unordered_set<std::uint64_t> bodies;  // hashes of the bodies received
};

class Stats {
 public:
  static constexpr std::size_t kMaxStarts = 20000;

  explicit Stats(TimePoint origin) : origin_(origin) {}

  // A request for key `name` arrived at `now`. The returned reference stays valid until the
  // matching finish(), across reset().
  KeyStats& start(const std::string& name, TimePoint now);
  // The body of that request; counts it in `repeats` when this key has seen it before.
  static void body(KeyStats& key, std::string_view body);
  void finish(KeyStats& key, bool completed);
  // An access token was issued for key `name`.
  void token_issued(const std::string& name) { ++keys_[name].tokens_issued; }

  void connection_opened() { ++connections_open_; }
  void connection_closed() { --connections_open_; }

  // Zeroes every counter except the gauges of requests still in flight.
  void reset();

  // {"keys":{"<name>":{"requests":..,"in_flight":..,"max_in_flight":..,"completed":..,
  //  "client_closed":..,"tokens_issued":..,"repeats":..,"starts_ms":[..]}},
  //  "connections_open":n}
  std::string to_json() const;

  const KeyStats* find(const std::string& name) const;

 private:
  TimePoint origin_;
  std::map<std::string, KeyStats> keys_;  // node-based: references survive inserts
  std::int64_t connections_open_ = 0;
};

}  // namespace bc::mockllm
