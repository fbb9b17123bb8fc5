#include "usage_command.h"

#include <chrono>
#include <cstdio>
#include <iostream>

#include <boost/json.hpp>

#include "usage/store.h"
#include "usage/time_text.h"

namespace bc {

namespace {

void print_row(const usage::UsageTotals& t) {
  std::printf("%-36s %10lld %8lld %14lld %14lld %14lld\n", t.group.c_str(),
              static_cast<long long>(t.requests), static_cast<long long>(t.errors),
              static_cast<long long>(t.prompt_tokens), static_cast<long long>(t.completion_tokens),
              static_cast<long long>(t.total_tokens));
}

}  // namespace

int run_usage(const config::Config& config, const std::string& since, const std::string& by,
              bool json) {
  if (config.usage.path.empty()) {
    std::cerr << config.source << ": usage: the usage ledger is off (no usage.path)\n";
    return 1;
  }
  const std::int64_t now = std::chrono::duration_cast<std::chrono::milliseconds>(
                               std::chrono::system_clock::now().time_since_epoch())
                               .count();
  const auto from = usage::parse_since_ms(since, now);
  if (!from) {
    std::cerr << "--since: '" << since << "' is neither a span (7d, 24h) nor a time (2025-01-31)\n";
    return 1;
  }
  const auto group_by = usage::parse_group_by(by);
  if (!group_by) {
    std::cerr << "--by: '" << by << "' is not one of client, model, key, hour, day\n";
    return 1;
  }
  auto store = usage::Store::open(config.usage.path, true);
  if (!store) {
    std::cerr << store.error().message << "\n";
    return 1;
  }
  auto groups = (*store)->totals(*from, now + 1, *group_by);
  if (!groups) {
    std::cerr << groups.error().message << "\n";
    return 1;
  }
  usage::UsageTotals all;
  all.group = "total";
  for (const auto& g : *groups) {
    all.requests += g.requests;
    all.errors += g.errors;
    all.prompt_tokens += g.prompt_tokens;
    all.completion_tokens += g.completion_tokens;
    all.total_tokens += g.total_tokens;
  }
  if (json) {
    // One JSON object a line, for scripts: the groups, then the total.
    auto line = [](const usage::UsageTotals& t, const std::string& name) {
      boost::json::object o;
      o[name] = t.group;
      o["requests"] = t.requests;
      o["errors"] = t.errors;
      o["prompt_tokens"] = t.prompt_tokens;
      o["completion_tokens"] = t.completion_tokens;
      o["total_tokens"] = t.total_tokens;
      std::cout << boost::json::serialize(o) << "\n";
    };
    for (const auto& g : *groups) line(g, by);
    line(all, "total");
    return 0;
  }
  std::printf("usage since %s (%s)\n", usage::iso_utc(*from).c_str(), config.usage.path.c_str());
  std::printf("%-36s %10s %8s %14s %14s %14s\n", by.c_str(), "requests", "errors", "prompt",
              "completion", "total");
  for (const auto& g : *groups) print_row(g);
  print_row(all);
  return 0;
}

}  // namespace bc
