#include "api/client_budgets.h"

#include <algorithm>
#include <chrono>

#include "api/exchange.h"
#include "api/reply.h"
#include "usage/store.h"

namespace bc::api {

namespace asio = boost::asio;

namespace {

std::int64_t wall_now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

}  // namespace

std::int64_t budget_estimate(const ChatRequest& request) {
  return request.content_chars() / 4 + request.max_answer_tokens().value_or(256);
}

ClientBudgets::ClientBudgets(const std::vector<ClientKey>& clients,
                             const config::AuthConfig& config, telemetry::Metrics& metrics) {
  for (const auto& c : config.client_keys) {
    const usage::BudgetLimits limits{c.requests_per_day, c.tokens_per_day, c.tokens_per_month};
    if (!limits.any()) continue;
    const auto it = std::find_if(clients.begin(), clients.end(),
                                 [&c](const ClientKey& k) { return k.name == c.name; });
    if (it == clients.end()) continue;
    auto e = std::make_unique<Entry>(limits);
    e->client = &*it;
    e->name = c.name;
    if (limits.requests_per_day > 0) {
      e->remaining[0] = &metrics.budget_remaining(c.name, "requests_per_day");
    }
    if (limits.tokens_per_day > 0) {
      e->remaining[1] = &metrics.budget_remaining(c.name, "tokens_per_day");
    }
    if (limits.tokens_per_month > 0) {
      e->remaining[2] = &metrics.budget_remaining(c.name, "tokens_per_month");
    }
    publish(*e, wall_now_ms());
    entries_.push_back(std::move(e));
  }
}

ClientBudgets::Entry* ClientBudgets::find(const ClientKey& client) {
  for (auto& e : entries_) {
    if (e->client == &client) return e.get();
  }
  return nullptr;
}

void ClientBudgets::publish(Entry& e, std::int64_t wall_ms) {
  const auto use = e.budget.use(wall_ms);
  const auto& limits = e.budget.limits();
  const std::int64_t left[3] = {limits.requests_per_day - use.requests_today,
                                limits.tokens_per_day - use.tokens_today,
                                limits.tokens_per_month - use.tokens_this_month};
  for (int i = 0; i < 3; ++i) {
    if (e.remaining[i] != nullptr) {
      e.remaining[i]->Set(static_cast<double>(std::max<std::int64_t>(0, left[i])));
    }
  }
}

Status ClientBudgets::read_back(usage::Ledger& ledger, ClientBudgets* previous) {
  if (entries_.empty()) return {};
  auto store = usage::Store::open(ledger.options().path, true);
  if (!store) return std::move(store).error();
  const std::int64_t wall_ms = wall_now_ms();
  const TimeZone utc;
  const TimeWindow day = day_window(wall_ms, 0, utc);
  const TimeWindow month = month_window(wall_ms, utc);
  auto today = (*store)->clients_since(day.start_ms);
  if (!today) return std::move(today).error();
  auto this_month = (*store)->clients_since(month.start_ms);
  if (!this_month) return std::move(this_month).error();
  // The marks stand for what was admitted but may not have been recorded (a crash).
  auto day_marks = (*store)->marks("client:day", day.start_ms);
  if (!day_marks) return std::move(day_marks).error();
  auto month_marks = (*store)->marks("client:month", month.start_ms);
  if (!month_marks) return std::move(month_marks).error();
  for (auto& e : entries_) {
    const usage::CountSince day_use = (*today)[e->name];
    const usage::CountSince month_use = (*this_month)[e->name];
    usage::BudgetUse start{day_use.requests, day_use.tokens, month_use.tokens};
    Entry* before = nullptr;
    if (previous != nullptr) {
      for (auto& p : previous->entries_) {
        if (p->name == e->name) before = p.get();
      }
    }
    if (before != nullptr) {
      // Its marks are ahead of its use by design; its counts there are exact.
      std::lock_guard lock(before->mutex);
      const usage::BudgetUse use = before->budget.use(wall_ms);
      start = {std::max(start.requests_today, use.requests_today),
               std::max(start.tokens_today, use.tokens_today),
               std::max(start.tokens_this_month, use.tokens_this_month)};
    } else {
      const usage::CountSince day_mark = (*day_marks)[e->name];
      const usage::CountSince month_mark = (*month_marks)[e->name];
      start = {std::max(start.requests_today, day_mark.requests),
               std::max(start.tokens_today, day_mark.tokens),
               std::max(start.tokens_this_month, month_mark.tokens)};
    }
    std::lock_guard lock(e->mutex);
    e->budget.seed(wall_ms, start);
    e->budget.gate();
    publish(*e, wall_ms);
  }
  ledger_ = &ledger;
  return {};
}

ClientBudgets::Verdict ClientBudgets::take(const ClientKey& client, std::int64_t wall_ms,
                                           std::int64_t tokens) {
  Entry* e = find(client);
  if (e == nullptr) return {};
  std::optional<usage::BudgetRefusal> refused;
  {
    std::lock_guard lock(e->mutex);
    refused = e->budget.take(wall_ms, tokens);
    publish(*e, wall_ms);
  }
  if (!refused) return {};
  if (refused->pending) {
    if (ledger_ != nullptr) ledger_->want_allowance();
    return {std::nullopt, true};
  }
  return {refusal_error(client, *refused, wall_ms), false};
}

Error ClientBudgets::refusal_error(const ClientKey& client, const usage::BudgetRefusal& refusal,
                                   std::int64_t wall_ms) {
  const std::chrono::system_clock::time_point resets{
      std::chrono::milliseconds(refusal.resets_at_ms)};
  Error err;
  err.kind = ErrorKind::kRateLimited;
  err.code = "budget_exceeded";
  err.message =
      "client '" + client.name + "' has used its " + std::string(refusal.budget) + " budget of " +
      std::to_string(refusal.limit) +
      (refusal.budget == "requests_per_day" ? "" : " (this request's estimate included)") +
      "; it resets at " + utc_timestamp(resets);
  err.cooldown =
      std::chrono::milliseconds(std::max<std::int64_t>(1000, refusal.resets_at_ms - wall_ms));
  return err;
}

void ClientBudgets::add_wanted_marks(std::int64_t wall_ms, std::vector<usage::AllowanceMark>& out) {
  for (auto& e : entries_) {
    std::lock_guard lock(e->mutex);
    usage::Budget& b = e->budget;
    if (!b.gated()) continue;
    const usage::BudgetUse use = b.use(wall_ms);
    const std::int64_t day = b.day_start(wall_ms);
    const std::int64_t month = b.month_start(wall_ms);
    // Counted before the writer first looked (read back) is not a rate.
    if (e->seen_day != day)
      e->seen = {use.requests_today, use.tokens_today, e->seen.tokens_this_month};
    if (e->seen_month != month) e->seen.tokens_this_month = use.tokens_this_month;
    e->seen_day = day;
    e->seen_month = month;
    const usage::BudgetGrant& g = b.granted();
    const usage::BudgetLimits& l = b.limits();
    const std::int64_t wanted = g.blocked ? g.wanted_tokens : 0;
    const std::int64_t day_r = g.day_start_ms == day ? g.requests_today : 0;
    const std::int64_t day_t = g.day_start_ms == day ? g.tokens_today : 0;
    const std::int64_t month_t = g.month_start_ms == month ? g.tokens_this_month : 0;
    const std::int64_t r =
        usage::next_mark(l.requests_per_day, use.requests_today,
                         use.requests_today - e->seen.requests_today, day_r, g.blocked ? 1 : 0);
    const std::int64_t t = usage::next_mark(l.tokens_per_day, use.tokens_today,
                                            use.tokens_today - e->seen.tokens_today, day_t, wanted);
    const std::int64_t m =
        usage::next_mark(l.tokens_per_month, use.tokens_this_month,
                         use.tokens_this_month - e->seen.tokens_this_month, month_t, wanted);
    e->seen = use;
    const bool daily = l.requests_per_day > 0 || l.tokens_per_day > 0;
    if (daily && (r > day_r || t > day_t || g.day_start_ms != day)) {
      out.push_back({"client:day", e->name, day, r, t});
    }
    if (l.tokens_per_month > 0 && (m > month_t || g.month_start_ms != month)) {
      out.push_back({"client:month", e->name, month, 0, m});
    }
  }
}

void ClientBudgets::grant_marks(const std::vector<usage::AllowanceMark>& marks,
                                std::int64_t wall_ms) {
  for (const auto& mark : marks) {
    const bool day = mark.scope == "client:day";
    if (!day && mark.scope != "client:month") continue;
    for (auto& e : entries_) {
      if (e->name != mark.name) continue;
      usage::BudgetGrant g;
      if (day) {
        g.day_start_ms = mark.period_start_ms;
        g.requests_today = mark.requests;
        g.tokens_today = mark.tokens;
      } else {
        g.month_start_ms = mark.period_start_ms;
        g.tokens_this_month = mark.tokens;
      }
      std::lock_guard lock(e->mutex);
      e->budget.grant(wall_ms, g);
    }
  }
}

void ClientBudgets::add_exact_marks(std::int64_t wall_ms, std::vector<usage::AllowanceMark>& out) {
  for (auto& e : entries_) {
    std::lock_guard lock(e->mutex);
    usage::Budget& b = e->budget;
    if (!b.gated()) continue;
    const usage::BudgetUse use = b.use(wall_ms);
    out.push_back(
        {"client:day", e->name, b.day_start(wall_ms), use.requests_today, use.tokens_today});
    out.push_back({"client:month", e->name, b.month_start(wall_ms), 0, use.tokens_this_month});
  }
}

std::optional<gateway::BudgetLimits> ClientBudgets::limits_of(const ClientKey& client) {
  Entry* e = find(client);
  if (e == nullptr) return std::nullopt;
  const auto& l = e->budget.limits();
  return gateway::BudgetLimits{l.requests_per_day, l.tokens_per_day, l.tokens_per_month};
}

void ClientBudgets::give_back(const ClientKey& client, std::int64_t taken_at_ms,
                              std::int64_t tokens) {
  Entry* e = find(client);
  if (e == nullptr) return;
  std::lock_guard lock(e->mutex);
  e->budget.give_back(taken_at_ms, tokens);
  publish(*e, wall_now_ms());
}

std::optional<Error> ClientBudgets::beyond_share(const ClientKey& client, std::int64_t wall_ms,
                                                 state::LiveView live) {
  Entry* e = find(client);
  if (e == nullptr) return std::nullopt;
  usage::BudgetUse use;
  {
    std::lock_guard lock(e->mutex);
    use = e->budget.use(wall_ms);
  }
  const auto& l = e->budget.limits();
  const TimeZone utc;
  const std::int64_t day_end = day_window(wall_ms, 0, utc).end_ms;
  const auto over = [&](std::int64_t limit, std::int64_t used) {
    return limit > 0 && used > state::local_share(limit, live);
  };
  std::optional<usage::BudgetRefusal> refused;
  if (over(l.requests_per_day, use.requests_today)) {
    refused = usage::BudgetRefusal{"requests_per_day", l.requests_per_day, day_end};
  } else if (over(l.tokens_per_day, use.tokens_today)) {
    refused = usage::BudgetRefusal{"tokens_per_day", l.tokens_per_day, day_end};
  } else if (over(l.tokens_per_month, use.tokens_this_month)) {
    refused = usage::BudgetRefusal{"tokens_per_month", l.tokens_per_month,
                                   month_window(wall_ms, utc).end_ms};
  }
  if (!refused) return std::nullopt;
  return refusal_error(client, *refused, wall_ms);
}

void ClientBudgets::settle(const ClientKey& client, std::int64_t taken_at_ms, std::int64_t reserved,
                           std::int64_t used) {
  Entry* e = find(client);
  if (e == nullptr) return;
  std::lock_guard lock(e->mutex);
  e->budget.settle(taken_at_ms, reserved, used);
  publish(*e, wall_now_ms());
}

asio::awaitable<std::optional<Error>> take_shared_budget(gateway::SharedAdmission& shared,
                                                         Exchange& writer) {
  if (writer.budgets == nullptr || writer.client == nullptr || writer.budget_taken_at_ms == 0) {
    co_return std::nullopt;
  }
  const auto limits = writer.budgets->limits_of(*writer.client);
  if (!limits) co_return std::nullopt;
  const ClientKey& client = *writer.client;
  const std::int64_t taken_at = writer.budget_taken_at_ms;
  const std::int64_t reserved = writer.budget_reserved;
  std::string name = client.name;
  gateway::SharedBudgetHold hold;
  const auto verdict = co_await gateway::SharedBudgetTaker::take(shared, std::move(name), *limits,
                                                                 taken_at, reserved, hold);
  using Kind = gateway::SharedBudgetVerdict::Kind;
  std::optional<Error> refused;
  if (verdict.kind == Kind::kTaken) {
    writer.shared_budget = std::move(hold);
    co_return std::nullopt;
  }
  if (verdict.kind == Kind::kRefused) {
    usage::BudgetRefusal crossed{"requests_per_day", limits->requests_per_day,
                                 verdict.resets_at_ms};
    if (verdict.crossed == state::BudgetOutcome::kTokensPerDay) {
      crossed.budget = "tokens_per_day";
      crossed.limit = limits->tokens_per_day;
    } else if (verdict.crossed == state::BudgetOutcome::kTokensPerMonth) {
      crossed.budget = "tokens_per_month";
      crossed.limit = limits->tokens_per_month;
    }
    refused = ClientBudgets::refusal_error(client, crossed, taken_at);
  } else {
    refused = writer.budgets->beyond_share(client, taken_at, verdict.live);
  }
  if (refused) {
    // Never ran: nothing of it stays counted here, and nothing is settled at its end.
    writer.budgets->give_back(client, taken_at, reserved);
    writer.budget_taken_at_ms = 0;
  }
  co_return refused;
}

}  // namespace bc::api
