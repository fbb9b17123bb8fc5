#include "telemetry/metrics.h"

#include <algorithm>
#include <array>
#include <chrono>
#include <map>

#include <prometheus/text_serializer.h>

#include "balance/capacity.h"
#include "telemetry/build_info.h"

namespace bc::telemetry {

namespace {

using prometheus::BuildCounter;
using prometheus::BuildGauge;
using prometheus::BuildHistogram;
using prometheus::Histogram;

constexpr std::array<std::string_view, kKeyStateCount> kKeyStates = {
    "ok", "cooling", "quarantined", "open", "half_open", "quota", "drained"};
constexpr std::array<AttemptOutcome, 5> kOutcomes = {
    AttemptOutcome::kOk, AttemptOutcome::kError, AttemptOutcome::kRateLimited,
    AttemptOutcome::kTimeout, AttemptOutcome::kCancelled};

// Whole requests and time to first token: milliseconds to minutes.
const Histogram::BucketBoundaries kRequestBuckets = {0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5,
                                                     1,     2.5,  5,     10,   30,  60,   120};
const Histogram::BucketBoundaries kTtftBuckets = {0.025, 0.05, 0.1, 0.25, 0.5, 1,
                                                  2,     5,    10,  20,   30,  60};
// The gateway's own time: tens of microseconds to tens of milliseconds.
const Histogram::BucketBoundaries kOverheadBuckets = {
    0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25};
const Histogram::BucketBoundaries kQueueBuckets = {0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25,
                                                   0.5,   1,     2.5,  5,     10,   30};

double seconds(Duration d) {
  return std::chrono::duration<double>(d).count();
}

}  // namespace

std::string_view outcome_label(AttemptOutcome outcome) {
  switch (outcome) {
    case AttemptOutcome::kOk:
      return "ok";
    case AttemptOutcome::kError:
      return "error";
    case AttemptOutcome::kRateLimited:
      return "rate_limited";
    case AttemptOutcome::kTimeout:
      return "timeout";
    case AttemptOutcome::kCancelled:
      return "cancelled";
  }
  return "error";
}

std::string_view status_class(int status) {
  switch (status / 100) {
    case 1:
      return "1xx";
    case 2:
      return "2xx";
    case 3:
      return "3xx";
    case 4:
      return "4xx";
    default:
      return "5xx";
  }
}

Metrics::Metrics(const std::vector<ModelLabels>& models, bool per_key, std::size_t per_key_max_keys)
    : models_(models),
      registry_(std::make_shared<prometheus::Registry>()),
      requests_(BuildCounter()
                    .Name("bc_requests_total")
                    .Help("HTTP requests answered, by model, key id, route and status class")
                    .Register(*registry_)),
      request_duration_(BuildHistogram()
                            .Name("bc_request_duration_seconds")
                            .Help("Time from a request's arrival to the end of its response")
                            .Register(*registry_)),
      ttft_(BuildHistogram()
                .Name("bc_time_to_first_token_seconds")
                .Help("Streamed chat requests: time from arrival to the first content sent")
                .Register(*registry_)),
      overhead_(BuildHistogram()
                    .Name("bc_gateway_overhead_seconds")
                    .Help("Chat requests: time spent in the gateway itself (total minus time "
                          "awaiting upstreams and waiting in the admission queue)")
                    .Register(*registry_)),
      attempts_(BuildCounter()
                    .Name("bc_upstream_attempts_total")
                    .Help("Upstream attempts by model, key id and outcome")
                    .Register(*registry_)),
      retries_(BuildCounter()
                   .Name("bc_retries_total")
                   .Help("Upstream attempts after the first one of a request")
                   .Register(*registry_)),
      failovers_(BuildCounter()
                     .Name("bc_failovers_total")
                     .Help("Retries that moved to another model")
                     .Register(*registry_)),
      in_flight_(BuildGauge()
                     .Name("bc_in_flight")
                     .Help("Requests in flight per model and key id (sampled at scrape)")
                     .Register(*registry_)),
      load_factor_(BuildGauge()
                       .Name("bc_load_factor")
                       .Help("Used fraction of a key's limit in its model's capacity type; 0 "
                             "when unlimited (sampled at scrape)")
                       .Register(*registry_)),
      key_state_(
          BuildGauge()
              .Name("bc_key_state")
              .Help("1 for the state a key is in (ok, cooling, quarantined, open, half_open, "
                    "quota, drained), else 0")
              .Register(*registry_)),
      queue_length_(BuildGauge()
                        .Name("bc_queue_length")
                        .Help("Requests waiting in the admission queue (sampled at scrape)")
                        .Register(*registry_)),
      queue_wait_(BuildHistogram()
                      .Name("bc_queue_wait_seconds")
                      .Help("Time requests waited in the admission queue")
                      .Register(*registry_)),
      tokens_(BuildCounter()
                  .Name("bc_tokens_total")
                  .Help("Tokens by model, key id and direction (prompt, completion) as the "
                        "upstream reported them")
                  .Register(*registry_)),
      quota_remaining_(BuildGauge()
                           .Name("bc_key_quota_remaining")
                           .Help("What is left of a key's daily quota (kind: requests for rpd, "
                                 "tokens for tpd) in its current quota day (sampled at scrape)")
                           .Register(*registry_)),
      budget_remaining_(BuildGauge()
                            .Name("bc_client_budget_remaining")
                            .Help("What is left of a client's budget (kind: requests_per_day, "
                                  "tokens_per_day, tokens_per_month) in its current period")
                            .Register(*registry_)) {
  keys_.resize(models_.size());
  for (const auto& m : models_) per_key_.push_back(per_key && m.key_ids.size() <= per_key_max_keys);
  for (std::size_t m = 0; m < models_.size(); ++m) {
    const auto& name = models_[m].name;
    model_ttft_.push_back(&ttft_.Add({{"model", name}}, kTtftBuckets));
    // Without per-key series, one set per model that every key of it counts into.
    auto bind = [&](std::map<std::string, std::string> labels) {
      KeyMetrics k;
      auto with = [&labels](const char* name, std::string_view value) {
        auto l = labels;
        l.emplace(name, std::string(value));
        return l;
      };
      for (const auto outcome : kOutcomes) {
        k.attempts[static_cast<int>(outcome)] =
            &attempts_.Add(with("outcome", outcome_label(outcome)));
      }
      k.prompt_tokens = &tokens_.Add(with("direction", "prompt"));
      k.completion_tokens = &tokens_.Add(with("direction", "completion"));
      k.in_flight = &in_flight_.Add(labels);
      k.load_factor = &load_factor_.Add(labels);
      for (std::size_t s = 0; s < kKeyStates.size(); ++s) {
        k.state[s] = &key_state_.Add(with("state", kKeyStates[s]));
      }
      // Per key only: summed over a model's keys, what is left says little.
      if (per_key_[m] && models_[m].rpd)
        k.quota_remaining[0] = &quota_remaining_.Add(with("kind", "requests"));
      if (per_key_[m] && models_[m].tpd)
        k.quota_remaining[1] = &quota_remaining_.Add(with("kind", "tokens"));
      keys_[m].push_back(k);
    };
    if (!per_key_[m]) {
      bind({{"model", name}});
      keys_[m].back().state[0]->Set(static_cast<double>(models_[m].key_ids.size()));
      continue;
    }
    for (const auto& id : models_[m].key_ids) {
      bind({{"model", name}, {"key", id}});
      keys_[m].back().state[0]->Set(1);
    }
  }
  // Always 1: the version and revision ride on the labels, so a dashboard can show them and
  // a query can join on them (the Prometheus convention for build information).
  BuildGauge()
      .Name("bc_build_info")
      .Help("1, labelled with the gateway's version and the git revision it was built from")
      .Register(*registry_)
      .Add({{"version", std::string(version())}, {"revision", std::string(revision())}})
      .Set(1);
  overhead_all_ = &overhead_.Add({}, kOverheadBuckets);
  retries_all_ = &retries_.Add({});
  failovers_all_ = &failovers_.Add({});
  queue_length_all_ = &queue_length_.Add({});
  queue_wait_all_ = &queue_wait_.Add({}, kQueueBuckets);
  auto& ledger_records = BuildCounter()
                             .Name("bc_usage_records_total")
                             .Help(
                                 "Usage ledger records by fate: written to the store, dropped "
                                 "(queue full) or failed (the store refused the batch)")
                             .Register(*registry_);
  ledger_records_[0] = &ledger_records.Add({{"fate", "written"}});
  ledger_records_[1] = &ledger_records.Add({{"fate", "dropped"}});
  ledger_records_[2] = &ledger_records.Add({{"fate", "failed"}});
  ledger_marks_failed_ =
      &BuildCounter()
           .Name("bc_usage_marks_failed_total")
           .Help(
               "Allowance marks of daily quotas and client budgets the usage store refused "
               "(keys and clients then stop at their last mark)")
           .Register(*registry_)
           .Add({});
  ledger_queued_ = &BuildGauge()
                        .Name("bc_usage_queue_length")
                        .Help("Usage ledger records waiting for the writer (sampled at scrape)")
                        .Register(*registry_)
                        .Add({});
  state_degraded_ = &BuildGauge()
                         .Name("bc_state_degraded")
                         .Help(
                             "1 while this instance cannot use the Redis of state.backend redis "
                             "and admits on its share of each limit; 0 otherwise (sampled at "
                             "scrape)")
                         .Register(*registry_)
                         .Add({});
}

void Metrics::refresh_state(bool degraded) {
  state_degraded_->Set(degraded ? 1 : 0);
}

prometheus::Gauge& Metrics::budget_remaining(std::string_view client, std::string_view kind) {
  return budget_remaining_.Add({{"client", std::string(client)}, {"kind", std::string(kind)}});
}

void Metrics::refresh_ledger(const LedgerCounts& counts) {
  std::lock_guard lock(ledger_mutex_);
  const std::uint64_t now[3] = {counts.written, counts.dropped, counts.failed};
  const std::uint64_t seen[3] = {ledger_seen_.written, ledger_seen_.dropped, ledger_seen_.failed};
  for (int i = 0; i < 3; ++i) {
    if (now[i] > seen[i]) ledger_records_[i]->Increment(static_cast<double>(now[i] - seen[i]));
  }
  if (counts.marks_failed > ledger_seen_.marks_failed) {
    ledger_marks_failed_->Increment(
        static_cast<double>(counts.marks_failed - ledger_seen_.marks_failed));
  }
  ledger_queued_->Set(static_cast<double>(counts.queued));
  ledger_seen_ = counts;
}

const Metrics::KeyMetrics* Metrics::key(balance::Target target) const {
  if (target.model >= keys_.size()) return nullptr;
  if (!per_key_[target.model]) {
    return target.key < models_[target.model].key_ids.size() ? &keys_[target.model][0] : nullptr;
  }
  if (target.key >= keys_[target.model].size()) return nullptr;
  return &keys_[target.model][target.key];
}

void Metrics::attempt(balance::Target target, AttemptOutcome outcome) {
  if (const auto* k = key(target)) k->attempts[static_cast<int>(outcome)]->Increment();
}

void Metrics::tokens(balance::Target target, std::int64_t prompt, std::int64_t completion) {
  const auto* k = key(target);
  if (k == nullptr) return;
  if (prompt > 0) k->prompt_tokens->Increment(static_cast<double>(prompt));
  if (completion > 0) k->completion_tokens->Increment(static_cast<double>(completion));
}

void Metrics::retry(bool failover) {
  retries_all_->Increment();
  if (failover) failovers_all_->Increment();
}

void Metrics::queue_wait(Duration waited) {
  queue_wait_all_->Observe(seconds(waited));
}

void Metrics::time_to_first_token(std::size_t model, Duration ttft) {
  if (model < model_ttft_.size()) model_ttft_[model]->Observe(seconds(ttft));
}

void Metrics::gateway_overhead(Duration overhead) {
  overhead_all_->Observe(std::max(0.0, seconds(overhead)));
}

prometheus::Counter& Metrics::requests(std::string_view model, std::string_view key,
                                       std::string_view route, std::string_view status_class) {
  return requests_.Add({{"model", std::string(model)},
                        {"key", std::string(key)},
                        {"route", std::string(route)},
                        {"status_class", std::string(status_class)}});
}

prometheus::Histogram& Metrics::request_duration(std::string_view route) {
  return request_duration_.Add({{"route", std::string(route)}}, kRequestBuckets);
}

void Metrics::refresh_pool(const balance::Pool& pool, std::size_t queue_length, TimePoint now) {
  queue_length_all_->Set(static_cast<double>(queue_length));
  for (std::size_t m = 0; m < pool.model_count() && m < keys_.size(); ++m) {
    const auto report = balance::model_report(pool, m, now);
    if (!per_key_[m]) {
      const auto& k = keys_[m][0];
      k.in_flight->Set(report.in_flight);
      k.load_factor->Set(report.max > 0 ? report.current / report.max : 0.0);
      for (std::size_t s = 0; s < kKeyStates.size(); ++s) {
        const auto in_state =
            std::count_if(report.keys.begin(), report.keys.end(),
                          [s](const auto& r) { return r.state == kKeyStates[s]; });
        k.state[s]->Set(static_cast<double>(in_state));
      }
      continue;
    }
    for (std::size_t i = 0; i < report.keys.size() && i < keys_[m].size(); ++i) {
      const auto& r = report.keys[i];
      const auto& k = keys_[m][i];
      k.in_flight->Set(r.in_flight);
      k.load_factor->Set(r.max > 0 ? r.current / r.max : 0.0);
      for (std::size_t s = 0; s < kKeyStates.size(); ++s) {
        k.state[s]->Set(r.state == kKeyStates[s] ? 1 : 0);
      }
      if (k.quota_remaining[0] != nullptr) {
        k.quota_remaining[0]->Set(
            static_cast<double>(std::max<std::int64_t>(0, r.rpd - r.requests_today)));
      }
      if (k.quota_remaining[1] != nullptr) {
        k.quota_remaining[1]->Set(
            static_cast<double>(std::max<std::int64_t>(0, r.tpd - r.tokens_today)));
      }
    }
  }
}

std::string Metrics::serialize() const {
  return prometheus::TextSerializer().Serialize(registry_->Collect());
}

void RequestMetrics::request(std::string_view route, std::optional<balance::Target> target,
                             int status, Duration total) {
  const auto cls = status_class(status);
  // The cache key: route and status class, joined with a byte no label value contains.
  scratch_.assign(route).append(1, '\x1f').append(cls);
  auto it = requests_.find(scratch_);
  if (it == requests_.end()) it = requests_.emplace(scratch_, RouteSeries{}).first;
  RouteSeries& series = it->second;
  prometheus::Counter** counter = &series.no_target;
  std::string_view model;
  std::string_view key;
  if (target) {
    if (const auto* m = metrics_.model(target->model); m && target->key < m->key_ids.size()) {
      model = m->name;
      const bool per_key = metrics_.per_key(target->model);
      if (per_key) key = m->key_ids[target->key];
      if (series.by_target.size() <= target->model) series.by_target.resize(target->model + 1);
      auto& keys = series.by_target[target->model];
      if (keys.empty()) keys.resize(per_key ? m->key_ids.size() : 1, nullptr);
      counter = &keys[per_key ? target->key : 0];
    }
  }
  if (*counter == nullptr) *counter = &metrics_.requests(model, key, route, cls);
  (*counter)->Increment();

  scratch_.assign(route);  // a route is longer than a short string: no copy per request
  auto d = durations_.find(scratch_);
  if (d == durations_.end()) {
    d = durations_.emplace(scratch_, &metrics_.request_duration(route)).first;
  }
  d->second->Observe(seconds(total));
}

}  // namespace bc::telemetry
