#include "mockllm/fault_plan.h"

#include <algorithm>
#include <charconv>

namespace bc::mockllm {
namespace {

constexpr int kMaxDelayMs = 3'600'000;
constexpr int kMaxTokens = 1'000'000;

std::optional<int> parse_int(std::string_view text, int lo, int hi) {
  int value = 0;
  const auto* end = text.data() + text.size();
  auto [ptr, ec] = std::from_chars(text.data(), end, value);
  if (ec != std::errc{} || ptr != end) return std::nullopt;
  return std::clamp(value, lo, hi);
}

void apply_option(FaultPlan& plan, std::string_view name, std::string_view value) {
  auto set = [&](auto& field, int lo, int hi) {
    if (auto v = parse_int(value, lo, hi)) field = *v;
  };
  auto set_ms = [&](std::chrono::milliseconds& field) {
    if (auto v = parse_int(value, 0, kMaxDelayMs)) field = std::chrono::milliseconds(*v);
  };
  if (name == "latency") {
    set_ms(plan.latency);
  } else if (name == "think") {
    set_ms(plan.think);
  } else if (name == "think_ping") {
    set_ms(plan.think_ping);
  } else if (name == "gap") {
    set_ms(plan.gap);
  } else if (name == "hold_end") {
    set_ms(plan.hold_end);
  } else if (name == "tokens") {
    set(plan.tokens, 0, kMaxTokens);
  } else if (name == "status") {
    if (auto v = parse_int(value, 0, 999); v && *v >= 400 && *v <= 599) plan.status = *v;
  } else if (name == "retry_after") {
    if (auto v = parse_int(value, 0, 86'400)) plan.retry_after = *v;
  } else if (name == "cut_after") {
    if (auto v = parse_int(value, 0, kMaxTokens)) plan.cut_after = *v;
  } else if (name == "burst") {
    plan.burst = true;
  } else if (name == "malformed") {
    plan.malformed = true;
  } else if (name == "fail_first") {
    set(plan.fail_first, 0, 1'000'000'000);
  } else if (name == "fail_every") {
    set(plan.fail_every, 0, 1'000'000'000);
  } else if (name == "error_in_stream") {
    plan.error_in_stream = true;
  } else if (name == "tool_call") {
    plan.tool_call = true;
  } else if (name == "code") {
    if (!value.empty()) plan.code = std::string(value);
  } else if (name == "error_200") {
    plan.error_200 = true;
  } else if (name == "echo_key") {
    plan.echo_key = true;
  } else if (name == "token_ttl") {
    if (auto v = parse_int(value, 0, 1'000'000'000)) plan.token_ttl = *v;
  }
  // Anything else is ignored, so keys written for later versions still work here.
}

}  // namespace

int FaultPlan::error_status(std::uint64_t ordinal) const {
  if (fail_every > 0) {
    if (ordinal % static_cast<std::uint64_t>(fail_every) != 0) return 0;
    return status != 0 ? status : 500;
  }
  if (fail_first > 0) {
    if (ordinal >= static_cast<std::uint64_t>(fail_first)) return 0;
    return status != 0 ? status : 500;
  }
  return status;
}

FaultPlan parse_fault_plan(std::string_view api_key) {
  FaultPlan plan;
  auto next = api_key.find(';');
  plan.key_name = std::string(api_key.substr(0, next));
  while (next != std::string_view::npos) {
    api_key.remove_prefix(next + 1);
    next = api_key.find(';');
    const auto option = api_key.substr(0, next);
    const auto eq = option.find('=');
    apply_option(plan, option.substr(0, eq),
                 eq == std::string_view::npos ? std::string_view{} : option.substr(eq + 1));
  }
  if (plan.echo_key && plan.status == 0 && plan.fail_first == 0 && plan.fail_every == 0) {
    plan.status = 401;
  }
  return plan;
}

}  // namespace bc::mockllm
