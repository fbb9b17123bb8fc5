// The Lua scripts that check and take a key's shared limits in Redis atomically, one round
// trip per admission. Redis's own clock (TIME) times leases and windows, so the instances'
// clocks need not agree.
#pragma once

#include <string_view>

namespace bc::state {

// KEYS[1]: the key's leases (a sorted set: lease id -> expiry in ms);
// KEYS[2]: the key's admissions of the rate window (a sorted set: lease id -> time in ms);
// KEYS[3]: the key's shared cooldown (present while it cools, with that expiry).
// ARGV: max_concurrency (0: none), lease time in ms, admissions allowed per window (0: no
// rate limit), the window in ms, the lease id.
// Answers {outcome, in_flight, retry_after_ms}: outcome 1 admitted, 0 refused by
// max_concurrency, -1 refused by the rate, -2 refused because the key cools down (a 429
// seen by some instance); in_flight counts the live leases (this one too when admitted);
// retry_after_ms is when the window frees a slot or the cooldown ends (0 otherwise).
// Expired leases (their holder died or stopped renewing) are dropped first.
inline constexpr std::string_view kAdmitScript = R"lua(
local cooling = redis.call('PTTL', KEYS[3])
if cooling > 0 then return {-2, 0, cooling} end
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local max_concurrency = tonumber(ARGV[1])
local lease_ms = tonumber(ARGV[2])
local per_window = tonumber(ARGV[3])
local window_ms = tonumber(ARGV[4])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
local in_flight = redis.call('ZCARD', KEYS[1])
if max_concurrency > 0 and in_flight >= max_concurrency then
  return {0, in_flight, 0}
end
if per_window > 0 then
  redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', now - window_ms)
  if redis.call('ZCARD', KEYS[2]) >= per_window then
    local oldest = redis.call('ZRANGE', KEYS[2], 0, 0, 'WITHSCORES')
    return {-1, in_flight, math.max(1, tonumber(oldest[2]) + window_ms - now)}
  end
  redis.call('ZADD', KEYS[2], now, ARGV[5])
  redis.call('PEXPIRE', KEYS[2], window_ms * 2)
end
if max_concurrency > 0 then
  redis.call('ZADD', KEYS[1], now + lease_ms, ARGV[5])
  redis.call('PEXPIRE', KEYS[1], lease_ms * 2)
  in_flight = in_flight + 1
end
return {1, in_flight, 0}
)lua";

// A running request pushes its lease's expiry on. KEYS[1]: the key's leases; ARGV: lease
// time in ms, the lease id. A lease that already expired is not brought back (its slot may
// be another's now): answers 1 when renewed, 0 otherwise.
inline constexpr std::string_view kRenewScript = R"lua(
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local expiry = redis.call('ZSCORE', KEYS[1], ARGV[2])
if not expiry or tonumber(expiry) <= now then return 0 end
redis.call('ZADD', KEYS[1], 'XX', now + tonumber(ARGV[1]), ARGV[2])
redis.call('PEXPIRE', KEYS[1], tonumber(ARGV[1]) * 2)
return 1
)lua";

// A key cools down for every instance. KEYS[1]: the key's shared cooldown; ARGV: its length
// in ms. A longer cooldown already in place is kept.
inline constexpr std::string_view kCoolScript = R"lua(
if redis.call('PTTL', KEYS[1]) < tonumber(ARGV[1]) then
  redis.call('SET', KEYS[1], '1', 'PX', ARGV[1])
end
return 1
)lua";

}  // namespace bc::state

namespace bc::state {

// An instance's heartbeat. KEYS[1]: the instances (a sorted set: instance id -> last
// heartbeat in ms); ARGV: this instance's id, how old a heartbeat may be before the instance
// is dropped from the set (ms; the set itself expires after that long without a
// heartbeat). Answers {now_ms, id1, at1, id2, at2, ...} for every
// instance still in the set.
inline constexpr std::string_view kHeartbeatScript = R"lua(
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
redis.call('ZADD', KEYS[1], now, ARGV[1])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - tonumber(ARGV[2]))
redis.call('PEXPIRE', KEYS[1], tonumber(ARGV[2]))
local out = {now}
local all = redis.call('ZRANGE', KEYS[1], 0, -1, 'WITHSCORES')
for i = 1, #all do out[#out + 1] = all[i] end
return out
)lua";

}  // namespace bc::state
