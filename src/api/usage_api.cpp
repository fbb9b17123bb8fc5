#include "api/usage_api.h"

#include <boost/json.hpp>

#include "api/load_api.h"
#include "api/reply.h"
#include "balance/key_load.h"
#include "core/json_text.h"
#include "telemetry/app_log.h"
#include "usage/store.h"
#include "usage/time_text.h"

namespace bc::api {

namespace http = boost::beast::http;
namespace json = boost::json;

usage::UsageRecord usage_record_of(const Exchange& exchange, std::string_view route,
                                   const gateway::Gateway& gateway, int status, Duration total) {
  using Ms = std::chrono::duration<double, std::milli>;
  const auto& report = exchange.report;
  usage::UsageRecord r;
  r.at_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                std::chrono::system_clock::now().time_since_epoch())
                .count();
  if (exchange.client != nullptr) r.client = exchange.client->name;
  r.route = route;
  r.model = report.model;
  r.key_id = report.key_id;
  if (report.target && report.target->model < gateway.model_count()) {
    r.provider = gateway.model(report.target->model).config->provider;
  }
  if (report.usage) {
    r.prompt_tokens = report.usage->prompt_tokens;
    r.completion_tokens = report.usage->completion_tokens;
    r.total_tokens = report.usage->total_tokens != 0
                         ? report.usage->total_tokens
                         : report.usage->prompt_tokens + report.usage->completion_tokens;
  } else if (status < 400 && report.target) {
    // An answer without usage still spent tokens: count what admission reserved for it.
    r.prompt_tokens = report.estimate.prompt_tokens;
    r.completion_tokens = report.estimate.completion_tokens;
    r.total_tokens = report.estimate.total_tokens;
    r.tokens_estimated = true;
  }
  r.status = status;
  if (status >= 400) r.error_class = telemetry::error_class(status);
  r.latency_ms = Ms(total).count();
  r.streamed = exchange.streamed();
  if (r.streamed && exchange.first_byte()) {
    r.ttft_ms = Ms(*exchange.first_byte() - exchange.started_at()).count();
  }
  r.attempts = report.attempts;
  return r;
}

std::int64_t tokens_used(const gateway::CallReport& report, int status) {
  if (report.usage) {
    return report.usage->total_tokens != 0
               ? report.usage->total_tokens
               : report.usage->prompt_tokens + report.usage->completion_tokens;
  }
  if (status < 400 && report.target) return report.estimate.total_tokens;
  return 0;
}

Status read_back_quotas(const usage::Ledger& ledger, balance::Pool& pool) {
  std::unique_ptr<usage::Store> store;
  const std::int64_t wall_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                                   std::chrono::system_clock::now().time_since_epoch())
                                   .count();
  const TimePoint now = Clock::now();
  for (std::uint32_t m = 0; m < pool.model_count(); ++m) {
    const auto& spec = pool.model(m);
    if (spec.rpd <= 0 && spec.tpd <= 0) continue;
    if (!store) {
      auto opened = usage::Store::open(ledger.options().path, true);
      if (!opened) return std::move(opened).error();
      store = std::move(opened).value();
    }
    const TimeWindow day = day_window(wall_ms, spec.quota_reset_hour, spec.quota_zone);
    auto used = store->keys_since(spec.name, day.start_ms);
    if (!used) return std::move(used).error();
    auto marks = store->marks("key:" + spec.name, day.start_ms);
    if (!marks) return std::move(marks).error();
    for (std::uint32_t k = 0; k < spec.keys.size(); ++k) {
      usage::CountSince count;
      if (const auto it = used->find(spec.keys[k].id); it != used->end()) count = it->second;
      // A key a reload kept is counting already, and its mark is ahead of its use by design;
      // a fresh one starts from the mark too, which is at least what was admitted before a
      // crash.
      if (const auto it = marks->find(spec.keys[k].id);
          it != marks->end() && !pool.load({m, k}).quota_gated()) {
        count.requests = std::max(count.requests, it->second.requests);
        count.tokens = std::max(count.tokens, it->second.tokens);
      }
      if (count.requests == 0 && count.tokens == 0) continue;
      pool.seed_quota({m, k}, wall_ms, now, count.requests, count.tokens);
    }
  }
  return {};
}

namespace {

Error usage_error(std::string message, std::string code) {
  return Error::invalid_request(std::move(message), std::move(code));
}

json::object totals_json(const usage::UsageTotals& t, std::string_view group_name) {
  json::object o;
  if (!group_name.empty()) o[group_name] = t.group;
  o["requests"] = t.requests;
  o["errors"] = t.errors;
  o["prompt_tokens"] = t.prompt_tokens;
  o["completion_tokens"] = t.completion_tokens;
  o["total_tokens"] = t.total_tokens;
  return o;
}

// The answer of GET /admin/usage, or why the query is refused.
Result<std::string> usage_report(const net::HttpRequest& request, const usage::Ledger& ledger) {
  const std::int64_t now = std::chrono::duration_cast<std::chrono::milliseconds>(
                               std::chrono::system_clock::now().time_since_epoch())
                               .count();
  std::int64_t to = now + 1;
  if (auto text = query_param(request, "to")) {
    auto parsed = usage::parse_time_ms(*text);
    if (!parsed) return usage_error("to: '" + *text + "' is not a time", "invalid_time");
    to = *parsed;
  }
  std::int64_t from = to - 30LL * 86'400'000;
  if (auto text = query_param(request, "from")) {
    auto parsed = usage::parse_since_ms(*text, now);
    if (!parsed) return usage_error("from: '" + *text + "' is not a time", "invalid_time");
    from = *parsed;
  }
  const std::string group_text = query_param(request, "group_by").value_or("model");
  const auto group_by = usage::parse_group_by(group_text);
  if (!group_by) {
    return usage_error("group_by: '" + group_text + "' is not one of client, model, key, hour, day",
                       "invalid_group_by");
  }
  auto store = usage::Store::open(ledger.options().path, true);
  if (!store) return std::move(store).error();
  auto groups = (*store)->totals(from, to, *group_by);
  if (!groups) return std::move(groups).error();
  json::object out;
  out["from"] = usage::iso_utc(from);
  out["to"] = usage::iso_utc(to);
  out["group_by"] = group_text;
  json::array rows;
  usage::UsageTotals all;
  for (const auto& g : *groups) {
    rows.push_back(totals_json(g, group_text));
    all.requests += g.requests;
    all.errors += g.errors;
    all.prompt_tokens += g.prompt_tokens;
    all.completion_tokens += g.completion_tokens;
    all.total_tokens += g.total_tokens;
  }
  out["groups"] = std::move(rows);
  out["total"] = totals_json(all, "");
  json::object writer;
  writer["written"] = ledger.written();
  writer["queued"] = ledger.queued();
  writer["dropped"] = ledger.dropped();
  writer["failed"] = ledger.failed();
  out["ledger"] = std::move(writer);
  return json_text(out);
}

Error usage_off() {
  return Error::not_found("the usage ledger is off: set usage.path in the config to turn it on",
                          "usage_off");
}

}  // namespace

void add_usage_routes(Router& router, std::shared_ptr<usage::Ledger> ledger) {
  router.add(http::verb::get, "/admin/usage",
             [ledger](const net::HttpRequest& r, net::ResponseWriter& w) -> awaitable<void> {
               // Named locals, never temporaries, in the co_await calls (GCC 12).
               if (!ledger) {
                 Error off = usage_off();
                 co_await send_error(w, std::move(off));
                 co_return;
               }
               auto report = usage_report(r, *ledger);
               if (!report) {
                 Error refused = std::move(report).error();
                 co_await send_error(w, std::move(refused));
                 co_return;
               }
               std::string body = std::move(report).value();
               co_await send_json(w, 200, std::move(body));
             });
}

}  // namespace bc::api
