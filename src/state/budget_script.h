// The Lua scripts that take and settle a client's budgets (auth.client_keys: requests_per_day,
// tokens_per_day, tokens_per_month) in Redis, so every instance counts against the same
// budget: one round trip to take, the settling sent without waiting.
#pragma once

#include <string_view>

namespace bc::state {

// KEYS[1]: the client's counts of the day (a hash: r requests, t tokens); KEYS[2]: its tokens
// of the month (a hash: t). The day's and the month's starts are in the names (the gateway
// computes them, in UTC as the local budgets do). ARGV: requests_per_day, tokens_per_day,
// tokens_per_month (0: none), the tokens this request reserves (its estimate), how long the
// day's and the month's counts are kept (ms).
// Answers 0 when taken; 1, 2 or 3 when the request would cross requests_per_day,
// tokens_per_day or tokens_per_month, and then takes nothing.
inline constexpr std::string_view kBudgetTakeScript = R"lua(
local rpd, tpd, tpm = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local tokens = tonumber(ARGV[4])
local day = redis.call('HMGET', KEYS[1], 'r', 't')
local r, t = tonumber(day[1]) or 0, tonumber(day[2]) or 0
local m = tonumber(redis.call('HGET', KEYS[2], 't')) or 0
if rpd > 0 and r + 1 > rpd then return 1 end
if tpd > 0 and t + tokens > tpd then return 2 end
if tpm > 0 and m + tokens > tpm then return 3 end
redis.call('HINCRBY', KEYS[1], 'r', 1)
redis.call('HINCRBY', KEYS[1], 't', tokens)
redis.call('PEXPIRE', KEYS[1], tonumber(ARGV[5]))
redis.call('HINCRBY', KEYS[2], 't', tokens)
redis.call('PEXPIRE', KEYS[2], tonumber(ARGV[6]))
return 0
)lua";

// The real use replaces the reservation. KEYS as above; ARGV[1]: the real use minus the
// reservation. Only periods whose counts still live are corrected; nothing goes below zero.
inline constexpr std::string_view kBudgetSettleScript = R"lua(
local delta = tonumber(ARGV[1])
for i = 1, 2 do
  if redis.call('EXISTS', KEYS[i]) == 1 then
    if redis.call('HINCRBY', KEYS[i], 't', delta) < 0 then redis.call('HSET', KEYS[i], 't', 0) end
  end
end
return 1
)lua";

}  // namespace bc::state
