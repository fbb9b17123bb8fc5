// One finished request as the usage ledger keeps it, and the sums the ledger's queries answer.
// Plain values: built on the request's thread, moved through the queue to the writer thread.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

namespace bc::usage {

struct UsageRecord {
  std::int64_t at_ms = 0;  // when it finished, Unix milliseconds (UTC)
  std::string client;      // the client key's name; empty: no client auth
  std::string route;       // the route pattern matched
  std::string model;       // the model that served it (the last one tried); empty: none
  std::string key_id;      // that key's public id; empty: none
  std::string provider;    // that model's provider; empty: none
  std::int64_t prompt_tokens = 0;
  std::int64_t completion_tokens = 0;
  std::int64_t total_tokens = 0;
  bool tokens_estimated = false;  // the answer carried no usage; the tokens are the estimate
  int status = 0;                 // the HTTP status sent (499: the client left first)
  std::string error_class;        // empty on success; else client_error, upstream_error, ...
  double latency_ms = 0;
  std::optional<double> ttft_ms;  // streamed answers: time to the first byte sent
  bool streamed = false;
  int attempts = 0;
};

// The sums over a group of records (a client, a model, a key, an hour or a day).
struct UsageTotals {
  std::string group;  // the group's value: a name, or an ISO 8601 hour or day (UTC)
  std::int64_t requests = 0;
  std::int64_t errors = 0;  // status >= 400
  std::int64_t prompt_tokens = 0;
  std::int64_t completion_tokens = 0;
  std::int64_t total_tokens = 0;
};

}  // namespace bc::usage
