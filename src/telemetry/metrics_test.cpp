#include "telemetry/metrics.h"

#include <gtest/gtest.h>

#include <map>
#include <regex>
#include <set>
#include <sstream>

#include "balance/test_support.h"
#include "telemetry/build_info.h"

namespace bc::telemetry {
namespace {

using balance::Target;
using namespace std::chrono_literals;

// A strict reader of the text exposition format 0.0.4
// (https://prometheus.io/docs/instrumenting/exposition_formats/): every line is a HELP, a
// TYPE or a sample; every sample belongs to a family whose TYPE came first; label values are
// properly escaped; histogram buckets are cumulative and end with +Inf equal to _count.
struct Sample {
  std::string name;
  std::map<std::string, std::string> labels;
  double value = 0;
};

struct Exposition {
  std::map<std::string, std::string> types;  // family -> type
  std::vector<std::string> type_order;
  std::vector<Sample> samples;

  double value(const std::string& name, const std::map<std::string, std::string>& labels) const {
    for (const auto& s : samples) {
      if (s.name == name && s.labels == labels) return s.value;
    }
    ADD_FAILURE() << "no sample " << name;
    return -1;
  }
  std::size_t count(const std::string& name) const {
    std::size_t n = 0;
    for (const auto& s : samples) n += s.name == name ? 1 : 0;
    return n;
  }
};

double parse_value(const std::string& text) {
  if (text == "+Inf") return INFINITY;
  if (text == "-Inf") return -INFINITY;
  if (text == "NaN") return NAN;
  std::size_t used = 0;
  const double v = std::stod(text, &used);
  if (used != text.size()) throw std::runtime_error("bad value: " + text);
  return v;
}

Exposition parse_exposition(const std::string& text) {
  static const std::regex kName("[a-zA-Z_:][a-zA-Z0-9_:]*");
  static const std::regex kLabelName("[a-zA-Z_][a-zA-Z0-9_]*");
  Exposition out;
  if (!text.empty() && text.back() != '\n') throw std::runtime_error("no final newline");
  std::istringstream in(text);
  std::string line;
  std::set<std::string> helped;
  while (std::getline(in, line)) {
    if (line.empty()) throw std::runtime_error("empty line");
    if (line.starts_with("# HELP ")) {
      std::istringstream l(line.substr(7));
      std::string name;
      l >> name;
      if (!std::regex_match(name, kName)) throw std::runtime_error("bad HELP name: " + line);
      if (!helped.insert(name).second) throw std::runtime_error("HELP twice: " + name);
      continue;
    }
    if (line.starts_with("# TYPE ")) {
      std::istringstream l(line.substr(7));
      std::string name, type, rest;
      l >> name >> type;
      if (l >> rest) throw std::runtime_error("trailing text: " + line);
      if (!std::regex_match(name, kName)) throw std::runtime_error("bad TYPE name: " + line);
      static const std::set<std::string> kTypes = {"counter", "gauge", "histogram", "summary",
                                                   "untyped"};
      if (!kTypes.contains(type)) throw std::runtime_error("bad type: " + line);
      if (out.types.contains(name)) throw std::runtime_error("TYPE twice: " + name);
      out.types[name] = type;
      out.type_order.push_back(name);
      continue;
    }
    if (line[0] == '#') throw std::runtime_error("unexpected comment: " + line);
    Sample s;
    std::size_t i = 0;
    while (i < line.size() && line[i] != '{' && line[i] != ' ') ++i;
    s.name = line.substr(0, i);
    if (!std::regex_match(s.name, kName)) throw std::runtime_error("bad sample name: " + line);
    if (i < line.size() && line[i] == '{') {
      ++i;
      while (line.at(i) != '}') {
        const auto eq = line.find('=', i);
        const auto lname = line.substr(i, eq - i);
        if (!std::regex_match(lname, kLabelName)) throw std::runtime_error("bad label: " + line);
        i = eq + 1;
        if (line.at(i) != '"') throw std::runtime_error("unquoted label value: " + line);
        ++i;
        std::string v;
        for (;;) {
          const char c = line.at(i++);
          if (c == '"') break;
          if (c == '\\') {
            const char e = line.at(i++);
            if (e == 'n') {
              v += '\n';
            } else if (e == '\\' || e == '"') {
              v += e;
            } else {
              throw std::runtime_error("bad escape: " + line);
            }
          } else {
            v += c;
          }
        }
        if (!s.labels.emplace(lname, v).second) throw std::runtime_error("label twice: " + line);
        if (line.at(i) == ',') ++i;
      }
      ++i;
    }
    if (line.at(i) != ' ') throw std::runtime_error("no space before value: " + line);
    const auto rest = line.substr(i + 1);
    const auto sp = rest.find(' ');
    s.value = parse_value(rest.substr(0, sp));
    if (sp != std::string::npos) std::stoll(rest.substr(sp + 1));  // a timestamp
    // The family: the name itself, or a histogram's name with its suffix.
    std::string family = s.name;
    if (!out.types.contains(family)) {
      for (const std::string suffix : {"_bucket", "_sum", "_count"}) {
        if (s.name.ends_with(suffix)) family = s.name.substr(0, s.name.size() - suffix.size());
      }
    }
    if (!out.types.contains(family)) throw std::runtime_error("sample before TYPE: " + line);
    if (out.types[family] == "histogram" && family == s.name) {
      throw std::runtime_error("histogram sample without suffix: " + line);
    }
    if (out.types[family] == "counter" && s.value < 0) {
      throw std::runtime_error("negative counter: " + line);
    }
    out.samples.push_back(std::move(s));
  }
  // Histograms: cumulative buckets ending with +Inf == _count.
  for (const auto& [family, type] : out.types) {
    if (type != "histogram") continue;
    std::map<std::map<std::string, std::string>, std::vector<std::pair<double, double>>> series;
    std::map<std::map<std::string, std::string>, double> counts;
    for (const auto& s : out.samples) {
      auto labels = s.labels;
      if (s.name == family + "_bucket") {
        const double le = parse_value(labels.at("le"));
        labels.erase("le");
        series[labels].push_back({le, s.value});
      } else if (s.name == family + "_count") {
        counts[labels] = s.value;
      }
    }
    for (const auto& [labels, buckets] : series) {
      for (std::size_t b = 1; b < buckets.size(); ++b) {
        if (buckets[b].first <= buckets[b - 1].first || buckets[b].second < buckets[b - 1].second) {
          throw std::runtime_error(family + ": buckets not cumulative");
        }
      }
      if (buckets.empty() || buckets.back().first != INFINITY) {
        throw std::runtime_error(family + ": no +Inf bucket");
      }
      if (!counts.contains(labels) || counts.at(labels) != buckets.back().second) {
        throw std::runtime_error(family + ": +Inf bucket differs from _count");
      }
    }
  }
  return out;
}

const std::vector<std::string> kFamilies = {"bc_build_info",
                                            "bc_requests_total",
                                            "bc_request_duration_seconds",
                                            "bc_time_to_first_token_seconds",
                                            "bc_gateway_overhead_seconds",
                                            "bc_upstream_attempts_total",
                                            "bc_retries_total",
                                            "bc_failovers_total",
                                            "bc_in_flight",
                                            "bc_load_factor",
                                            "bc_key_state",
                                            "bc_queue_length",
                                            "bc_queue_wait_seconds",
                                            "bc_tokens_total",
                                            "bc_usage_records_total",
                                            "bc_usage_queue_length",
                                            "bc_usage_marks_failed_total",
                                            "bc_state_degraded"};

std::vector<ModelLabels> two_models() {
  return {{"alpha", {"alpha-k0", "alpha-k1"}}, {"beta", {"sk-…beef"}}};
}

TEST(Metrics, DeclaresEveryFamilyOnceWithItsType) {
  Metrics metrics(two_models());
  // The per-request families have series (and appear) once a request was counted.
  RequestMetrics(metrics).request("/health", std::nullopt, 200, 1ms);
  const auto e = parse_exposition(metrics.serialize());
  for (const auto& f : kFamilies) EXPECT_TRUE(e.types.contains(f)) << f;
  // Shared state is not degraded until /metrics says otherwise (refresh_state).
  EXPECT_EQ(e.value("bc_state_degraded", {}), 0);
  EXPECT_EQ(e.types.size(), kFamilies.size());
  EXPECT_EQ(e.types.at("bc_requests_total"), "counter");
  EXPECT_EQ(e.types.at("bc_in_flight"), "gauge");
  EXPECT_EQ(e.types.at("bc_gateway_overhead_seconds"), "histogram");
}

TEST(Metrics, BuildInfoNamesTheVersionAndRevision) {
  Metrics metrics(two_models());
  const auto e = parse_exposition(metrics.serialize());
  EXPECT_EQ(e.value("bc_build_info",
                    {{"version", std::string(version())}, {"revision", std::string(revision())}}),
            1);
  EXPECT_EQ(e.types.at("bc_build_info"), "gauge");
}

TEST(Metrics, BindsEveryKeyAtConstructionSoSeriesExistBeforeTraffic) {
  Metrics metrics(two_models());
  const auto e = parse_exposition(metrics.serialize());
  EXPECT_EQ(
      e.value("bc_tokens_total", {{"model", "beta"}, {"key", "sk-…beef"}, {"direction", "prompt"}}),
      0);
  EXPECT_EQ(e.value("bc_key_state", {{"model", "alpha"}, {"key", "alpha-k1"}, {"state", "ok"}}), 1);
  EXPECT_EQ(e.count("bc_upstream_attempts_total"), 3u * 5u);
}

TEST(Metrics, CountersMoveWithAttemptsRetriesAndTokens) {
  Metrics metrics(two_models());
  metrics.attempt(Target{0, 1}, AttemptOutcome::kRateLimited);
  metrics.attempt(Target{0, 1}, AttemptOutcome::kRateLimited);
  metrics.attempt(Target{1, 0}, AttemptOutcome::kOk);
  metrics.attempt(Target{7, 0}, AttemptOutcome::kOk);  // out of range: ignored
  metrics.retry(false);
  metrics.retry(true);
  metrics.tokens(Target{1, 0}, 12, 30);
  metrics.queue_wait(250ms);
  metrics.gateway_overhead(300us);
  metrics.time_to_first_token(0, 1200ms);
  const auto e = parse_exposition(metrics.serialize());
  EXPECT_EQ(e.value("bc_upstream_attempts_total",
                    {{"model", "alpha"}, {"key", "alpha-k1"}, {"outcome", "rate_limited"}}),
            2);
  EXPECT_EQ(e.value("bc_upstream_attempts_total",
                    {{"model", "beta"}, {"key", "sk-…beef"}, {"outcome", "ok"}}),
            1);
  EXPECT_EQ(e.value("bc_retries_total", {}), 2);
  EXPECT_EQ(e.value("bc_failovers_total", {}), 1);
  EXPECT_EQ(e.value("bc_tokens_total",
                    {{"model", "beta"}, {"key", "sk-…beef"}, {"direction", "completion"}}),
            30);
  EXPECT_EQ(e.value("bc_queue_wait_seconds_count", {}), 1);
  EXPECT_DOUBLE_EQ(e.value("bc_queue_wait_seconds_sum", {}), 0.25);
  EXPECT_EQ(e.value("bc_gateway_overhead_seconds_bucket", {{"le", "0.0005"}}), 1);
  EXPECT_EQ(e.value("bc_gateway_overhead_seconds_bucket", {{"le", "0.00025"}}), 0);
  EXPECT_EQ(e.value("bc_time_to_first_token_seconds_count", {{"model", "alpha"}}), 1);
}

TEST(RequestMetrics, CachesOneSeriesPerLabelSet) {
  Metrics metrics(two_models());
  RequestMetrics worker(metrics);
  worker.request("/v1/chat/completions", Target{0, 0}, 200, 20ms);
  worker.request("/v1/chat/completions", Target{0, 0}, 201, 40ms);
  worker.request("/v1/chat/completions", std::nullopt, 401, 1ms);
  worker.request("/metrics", std::nullopt, 200, 1ms);
  RequestMetrics other_worker(metrics);
  other_worker.request("/v1/chat/completions", Target{0, 0}, 200, 20ms);
  const auto e = parse_exposition(metrics.serialize());
  EXPECT_EQ(e.value("bc_requests_total", {{"model", "alpha"},
                                          {"key", "alpha-k0"},
                                          {"route", "/v1/chat/completions"},
                                          {"status_class", "2xx"}}),
            3);
  EXPECT_EQ(
      e.value(
          "bc_requests_total",
          {{"model", ""}, {"key", ""}, {"route", "/v1/chat/completions"}, {"status_class", "4xx"}}),
      1);
  EXPECT_EQ(e.count("bc_requests_total"), 3u);
  EXPECT_EQ(e.value("bc_request_duration_seconds_count", {{"route", "/v1/chat/completions"}}), 4);
}

TEST(Metrics, EscapesLabelValuesSoTheExpositionStillParses) {
  Metrics metrics(std::vector<ModelLabels>{{"we\"ird\\model", {"key\nwith newline"}}});
  metrics.attempt(Target{0, 0}, AttemptOutcome::kOk);
  const auto e = parse_exposition(metrics.serialize());
  EXPECT_EQ(e.value("bc_upstream_attempts_total",
                    {{"model", "we\"ird\\model"}, {"key", "key\nwith newline"}, {"outcome", "ok"}}),
            1);
}

TEST(Metrics, SamplesPoolLoadAndKeyStateAtScrape) {
  auto pool =
      balance::testing::make_pool({balance::testing::model_spec("alpha", {1, 1}, "concurrency", 4),
                                   balance::testing::model_spec("beta", {1})});
  ASSERT_TRUE(pool);
  Metrics metrics(
      std::vector<ModelLabels>{{"alpha", {"alpha-k0", "alpha-k1"}}, {"beta", {"beta-k0"}}});
  const auto now = balance::testing::at(100);
  auto lease = pool->try_acquire(Target{0, 0}, balance::Demand{}, now);
  ASSERT_TRUE(lease);
  pool->cool_down(Target{0, 1}, now + 5s);
  pool->set_disabled(Target{1, 0}, true);
  metrics.refresh_pool(*pool, 3, now);
  const auto e = parse_exposition(metrics.serialize());
  EXPECT_EQ(e.value("bc_in_flight", {{"model", "alpha"}, {"key", "alpha-k0"}}), 1);
  EXPECT_DOUBLE_EQ(e.value("bc_load_factor", {{"model", "alpha"}, {"key", "alpha-k0"}}), 0.25);
  EXPECT_EQ(
      e.value("bc_key_state", {{"model", "alpha"}, {"key", "alpha-k1"}, {"state", "cooling"}}), 1);
  EXPECT_EQ(e.value("bc_key_state", {{"model", "alpha"}, {"key", "alpha-k1"}, {"state", "ok"}}), 0);
  EXPECT_EQ(
      e.value("bc_key_state", {{"model", "beta"}, {"key", "beta-k0"}, {"state", "quarantined"}}),
      1);
  EXPECT_EQ(e.value("bc_queue_length", {}), 3);
}

TEST(Metrics, WithoutPerKeySeriesEachModelHasOneSetWithoutTheKeyLabel) {
  auto pool = balance::testing::make_pool(
      {balance::testing::model_spec("alpha", {1, 1, 1}, "concurrency", 4)});
  ASSERT_TRUE(pool);
  Metrics metrics(std::vector<ModelLabels>{{"alpha", {"alpha-k0", "alpha-k1", "alpha-k2"}}},
                  /*per_key=*/false);
  metrics.attempt(Target{0, 0}, AttemptOutcome::kOk);
  metrics.attempt(Target{0, 2}, AttemptOutcome::kOk);
  metrics.tokens(Target{0, 1}, 10, 5);
  metrics.attempt(Target{0, 3}, AttemptOutcome::kOk);  // out of range: ignored
  RequestMetrics worker(metrics);
  worker.request("/v1/chat/completions", Target{0, 1}, 200, 20ms);
  const auto now = balance::testing::at(100);
  auto lease = pool->try_acquire(Target{0, 0}, balance::Demand{}, now);
  ASSERT_TRUE(lease);
  pool->cool_down(Target{0, 1}, now + 5s);
  metrics.refresh_pool(*pool, 0, now);
  const auto e = parse_exposition(metrics.serialize());
  EXPECT_EQ(e.value("bc_upstream_attempts_total", {{"model", "alpha"}, {"outcome", "ok"}}), 2);
  EXPECT_EQ(e.value("bc_tokens_total", {{"model", "alpha"}, {"direction", "prompt"}}), 10);
  EXPECT_EQ(e.value("bc_requests_total", {{"model", "alpha"},
                                          {"key", ""},
                                          {"route", "/v1/chat/completions"},
                                          {"status_class", "2xx"}}),
            1);
  EXPECT_EQ(e.value("bc_in_flight", {{"model", "alpha"}}), 1);
  EXPECT_DOUBLE_EQ(e.value("bc_load_factor", {{"model", "alpha"}}), 1.0 / 12);
  // The state gauges count the model's keys in each state.
  EXPECT_EQ(e.value("bc_key_state", {{"model", "alpha"}, {"state", "ok"}}), 2);
  EXPECT_EQ(e.value("bc_key_state", {{"model", "alpha"}, {"state", "cooling"}}), 1);
  EXPECT_EQ(e.count("bc_upstream_attempts_total"), 5u);  // one per outcome
  // ok, cooling, quarantined, open, half_open, quota, drained
  EXPECT_EQ(e.count("bc_key_state"), 7u);
}

TEST(Metrics, LedgerCountersAddWhatChangedSinceTheLastScrape) {
  Metrics metrics(two_models());
  metrics.refresh_ledger({.written = 10, .dropped = 2, .failed = 0, .queued = 3});
  metrics.refresh_ledger({.written = 25, .dropped = 2, .failed = 1, .queued = 0});
  const auto e = parse_exposition(metrics.serialize());
  EXPECT_EQ(e.types.at("bc_usage_records_total"), "counter");
  EXPECT_EQ(e.value("bc_usage_records_total", {{"fate", "written"}}), 25);
  EXPECT_EQ(e.value("bc_usage_records_total", {{"fate", "dropped"}}), 2);
  EXPECT_EQ(e.value("bc_usage_records_total", {{"fate", "failed"}}), 1);
  EXPECT_EQ(e.value("bc_usage_queue_length", {}), 0);
}

TEST(Metrics, QuotaAndBudgetGaugesAppearWhereSet) {
  std::vector<ModelLabels> models = {{"alpha", {"alpha-k0"}, true, false}};
  Metrics metrics(models);
  metrics.budget_remaining("carol", "tokens_per_day").Set(42);
  const auto e = parse_exposition(metrics.serialize());
  EXPECT_EQ(e.types.at("bc_key_quota_remaining"), "gauge");
  EXPECT_EQ(e.count("bc_key_quota_remaining"), 1u);  // requests only: no tpd
  EXPECT_EQ(
      e.value("bc_client_budget_remaining", {{"client", "carol"}, {"kind", "tokens_per_day"}}), 42);
}

TEST(Metrics, AModelPastPerKeyMaxKeysGetsModelSeriesTheOthersKeepTheirs) {
  Metrics metrics(
      std::vector<ModelLabels>{{"small", {"s-k0", "s-k1"}}, {"big", {"b-k0", "b-k1", "b-k2"}}},
      /*per_key=*/true, /*per_key_max_keys=*/2);
  EXPECT_TRUE(metrics.per_key(0));
  EXPECT_FALSE(metrics.per_key(1));
  metrics.attempt(Target{0, 1}, AttemptOutcome::kOk);
  metrics.attempt(Target{1, 0}, AttemptOutcome::kOk);
  metrics.attempt(Target{1, 2}, AttemptOutcome::kOk);
  RequestMetrics worker(metrics);
  worker.request("/v1/chat/completions", Target{1, 2}, 200, 20ms);
  worker.request("/v1/chat/completions", Target{0, 0}, 200, 20ms);
  const auto e = parse_exposition(metrics.serialize());
  EXPECT_EQ(e.value("bc_upstream_attempts_total",
                    {{"model", "small"}, {"key", "s-k1"}, {"outcome", "ok"}}),
            1);
  EXPECT_EQ(e.value("bc_upstream_attempts_total", {{"model", "big"}, {"outcome", "ok"}}), 2);
  EXPECT_EQ(e.value("bc_requests_total", {{"model", "big"},
                                          {"key", ""},
                                          {"route", "/v1/chat/completions"},
                                          {"status_class", "2xx"}}),
            1);
  EXPECT_EQ(e.value("bc_requests_total", {{"model", "small"},
                                          {"key", "s-k0"},
                                          {"route", "/v1/chat/completions"},
                                          {"status_class", "2xx"}}),
            1);
  // Two keys' outcome sets for the small model, one set for the big one.
  EXPECT_EQ(e.count("bc_upstream_attempts_total"), 15u);
}

TEST(ExpositionParser, RejectsMalformedText) {
  // The parser the tests above rely on must be able to fail.
  EXPECT_THROW(parse_exposition("bc_x 1\n"), std::runtime_error);  // no TYPE
  EXPECT_THROW(parse_exposition("# TYPE bc_x counter\nbc_x{a=\"b} 1\n"), std::exception);
  EXPECT_THROW(parse_exposition("# TYPE bc_x counter\nbc_x 1"), std::runtime_error);
  EXPECT_THROW(parse_exposition("# TYPE bc_x counter\n# TYPE bc_x counter\n"), std::runtime_error);
  EXPECT_THROW(
      parse_exposition("# TYPE h histogram\nh_bucket{le=\"1\"} 2\nh_bucket{le=\"+Inf\"} 1\n"
                       "h_count 1\n"),
      std::runtime_error);
  EXPECT_NO_THROW(
      parse_exposition("# HELP bc_x help text\n# TYPE bc_x counter\nbc_x{a=\"\\\"\"} 1\n"));
}

TEST(StatusClass, GroupsByHundreds) {
  EXPECT_EQ(status_class(200), "2xx");
  EXPECT_EQ(status_class(499), "4xx");
  EXPECT_EQ(status_class(504), "5xx");
}

}  // namespace
}  // namespace bc::telemetry
