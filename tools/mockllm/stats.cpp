#include "mockllm/stats.h"

#include <algorithm>
#include <chrono>

#include <boost/json.hpp>

namespace bc::mockllm {
namespace json = boost::json;

KeyStats& Stats::start(const std::string& name, TimePoint now) {
  auto& key = keys_[name];
  ++key.requests;
  ++key.in_flight;
  key.max_in_flight = std::max(key.max_in_flight, key.in_flight);
  key.starts_ms.push_back(
      std::chrono::duration_cast<std::chrono::milliseconds>(now - origin_).count());
  if (key.starts_ms.size() > kMaxStarts) key.starts_ms.pop_front();
  return key;
}

void Stats::body(KeyStats& key, std::string_view body) {
  if (!key.bodies.insert(std::hash<std::string_view>{}(body)).second) ++key.repeats;
}

void Stats::finish(KeyStats& key, bool completed) {
  --key.in_flight;
  ++(completed ? key.completed : key.client_closed);
}

void Stats::reset() {
  for (auto it = keys_.begin(); it != keys_.end();) {
    auto& key = it->second;
    if (key.in_flight == 0) {
      it = keys_.erase(it);
      continue;
    }
    // Requests still running hold a reference to this entry: keep it, and count them as if
    // they had arrived now so the invariant holds once they finish.
    key.requests = static_cast<std::uint64_t>(key.in_flight);
    key.max_in_flight = key.in_flight;
    key.completed = 0;
    key.client_closed = 0;
    key.tokens_issued = 0;
    key.starts_ms.clear();
    key.repeats = 0;
    key.bodies.clear();
    ++it;
  }
}

std::string Stats::to_json() const {
  json::object keys;
  for (const auto& [name, key] : keys_) {
    json::array starts;
    starts.reserve(key.starts_ms.size());
    for (auto ms : key.starts_ms) starts.emplace_back(ms);
    keys[name] = {{"requests", key.requests},
                  {"in_flight", key.in_flight},
                  {"max_in_flight", key.max_in_flight},
                  {"completed", key.completed},
                  {"client_closed", key.client_closed},
                  {"tokens_issued", key.tokens_issued},
                  {"repeats", key.repeats},
                  {"starts_ms", std::move(starts)}};
  }
  json::object out{{"keys", std::move(keys)}, {"connections_open", connections_open_}};
  return json::serialize(out);
}

const KeyStats* Stats::find(const std::string& name) const {
  auto it = keys_.find(name);
  return it == keys_.end() ? nullptr : &it->second;
}

}  // namespace bc::mockllm
