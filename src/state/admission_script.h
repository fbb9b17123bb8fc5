// The Lua scripts that check and take a key's shared limits in Redis atomically, one round
// trip per admission. Redis's own clock (TIME) times leases and windows, so the instances'
// clocks need not agree.
#pragma once

#include <string_view>

namespace bc::state {

// KEYS[1]: the key's leases (a sorted set: lease id -> expiry in ms);
// KEYS[2]: the key's admissions of the rate window (a sorted set: lease id -> time in ms);
// KEYS[3]: the key's shared cooldown (present while it cools, with that expiry);
// KEYS[4], KEYS[5]: the key's requests and tokens of the last minute (hashes: second -> amount);
// KEYS[6]: the key's counts of its quota day (a hash: r requests, t tokens; the day's start in
// its name, computed by the gateway from the model's reset hour and zone);
// KEYS[7]: the key's shared breaker (present while some instance's breaker holds it open);
// KEYS[8]: the key's shared quarantine (present after some instance's upstream refused it);
// KEYS[9]: the key's lowered concurrency (present after the upstream answered "too many in
// flight", until a request on the key succeeds or it expires: max_concurrency is held below it).
// ARGV: max_concurrency (0: none), lease time in ms, admissions allowed per window (0: no
// rate limit), the window in ms, the lease id, rpm, tpm, rpd, tpd (0: none), the tokens this
// request reserves (its estimate), how long the day's counts are kept (ms).
// Answers {outcome, in_flight, retry_after_ms, second}: outcome 1 admitted, 0 refused by
// max_concurrency, -1 refused by the rate (max_qps, rpm or tpm), -2 refused because the key
// cools down (a 429 seen by some instance), -3 refused by the daily quota (retry_after_ms is
// then 1 when the key's day is used up, 0 when only this request's estimate does not fit),
// -4 refused because some instance's breaker holds the key open, -5 refused because some
// instance quarantined the key (retry_after_ms: the time left of that mark);
// in_flight counts the live leases (this one too when admitted); retry_after_ms is when the
// window frees room or the cooldown ends; second is where the minute windows counted this
// admission (the release settles its tokens there). Admitted or refused by max_concurrency,
// a fifth element says whether the lowered concurrency held it (1) or not (0).
// Everything is checked before anything is taken: a refusal takes nothing. Expired leases
// (their holder died or stopped renewing) are dropped first. The minute windows count by
// whole seconds, and a second stays counted until all of it has left the minute, as the
// local pool's windows do (balance/rate_window.h): conservative by at most one second.
// A key with no limit at all (every limit 0) is only checked for its health marks: admitted
// with nothing taken.
inline constexpr std::string_view kAdmitScript = R"lua(
local marks = redis.call('MGET', KEYS[8], KEYS[7], KEYS[3], KEYS[9])
-- A health mark in place: the time left of it (one with none left is not in force).
local function time_left(present, key)
  if not present then return 0 end
  return redis.call('PTTL', key)
end
local quarantined = time_left(marks[1], KEYS[8])
if quarantined > 0 then return {-5, 0, quarantined, 0} end
local open = time_left(marks[2], KEYS[7])
if open > 0 then return {-4, 0, open, 0} end
local cooling = time_left(marks[3], KEYS[3])
if cooling > 0 then return {-2, 0, cooling, 0} end
local max_concurrency = tonumber(ARGV[1])
local lease_ms = tonumber(ARGV[2])
local per_window = tonumber(ARGV[3])
local window_ms = tonumber(ARGV[4])
local rpm, tpm = tonumber(ARGV[6]), tonumber(ARGV[7])
local rpd, tpd = tonumber(ARGV[8]), tonumber(ARGV[9])
if max_concurrency == 0 and per_window == 0 and rpm == 0 and tpm == 0 and rpd == 0 and tpd == 0 then
  return {1, 0, 0, 0}
end
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local second = math.floor(now / 1000)
local tokens = tonumber(ARGV[10])
-- A minute window's use, its stale seconds dropped; and when `amount` more would fit.
local function minute(key, limit, amount)
  local all = redis.call('HGETALL', key)
  local live, used = {}, 0
  for i = 1, #all, 2 do
    local s, v = tonumber(all[i]), tonumber(all[i + 1])
    if s < second - 60 then
      redis.call('HDEL', key, all[i])
    else
      used = used + v
      live[#live + 1] = {s, v}
    end
  end
  if used + amount <= limit then return 0 end
  table.sort(live, function(a, b) return a[1] < b[1] end)
  local left = used
  for _, sv in ipairs(live) do
    left = left - sv[2]
    if left + amount <= limit then return math.max(1, (sv[1] + 61) * 1000 - now) end
  end
  return 60000
end
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
local in_flight = redis.call('ZCARD', KEYS[1])
local capped = 0
if max_concurrency > 0 then
  local lowered = tonumber(marks[4] or '0') or 0
  if lowered > 0 and lowered < max_concurrency then
    max_concurrency = lowered
    capped = 1
  end
  if in_flight >= max_concurrency then return {0, in_flight, 0, 0, capped} end
end
if per_window > 0 then
  redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', now - window_ms)
  if redis.call('ZCARD', KEYS[2]) >= per_window then
    local oldest = redis.call('ZRANGE', KEYS[2], 0, 0, 'WITHSCORES')
    return {-1, in_flight, math.max(1, tonumber(oldest[2]) + window_ms - now), 0}
  end
end
local wait = 0
if rpm > 0 then wait = minute(KEYS[4], rpm, 1) end
if tpm > 0 then wait = math.max(wait, minute(KEYS[5], tpm, tokens)) end
if wait > 0 then return {-1, in_flight, wait, 0} end
if rpd > 0 or tpd > 0 then
  local day = redis.call('HMGET', KEYS[6], 'r', 't')
  local r, used = tonumber(day[1]) or 0, tonumber(day[2]) or 0
  local full = (rpd > 0 and r >= rpd) or (tpd > 0 and used >= tpd)
  -- One request larger than the whole day's tokens may still run on an unused day.
  if full or (tpd > 0 and used + math.min(tokens, tpd) > tpd) then
    return {-3, in_flight, full and 1 or 0, 0}
  end
  redis.call('HINCRBY', KEYS[6], 'r', 1)
  redis.call('HINCRBY', KEYS[6], 't', tokens)
  redis.call('PEXPIRE', KEYS[6], tonumber(ARGV[11]))
end
if per_window > 0 then
  redis.call('ZADD', KEYS[2], now, ARGV[5])
  redis.call('PEXPIRE', KEYS[2], window_ms * 2)
end
if rpm > 0 then
  redis.call('HINCRBY', KEYS[4], second, 1)
  redis.call('PEXPIRE', KEYS[4], 62000)
end
if tpm > 0 then
  redis.call('HINCRBY', KEYS[5], second, tokens)
  redis.call('PEXPIRE', KEYS[5], 62000)
end
if max_concurrency > 0 then
  redis.call('ZADD', KEYS[1], now + lease_ms, ARGV[5])
  redis.call('PEXPIRE', KEYS[1], lease_ms * 2)
  in_flight = in_flight + 1
end
return {1, in_flight, 0, second, capped}
)lua";

// An admission ends: its lease is freed and the tokens it reserved are replaced by the real use,
// as the local pool settles them. KEYS[1]: the key's leases; KEYS[2]: its tokens of the last
// minute; KEYS[3]: its quota day's counts. ARGV: the lease id, the second the admission counted
// in, the real use minus the reservation, 1 when tpm is set (0 otherwise). The minute's tokens
// are corrected in their second while it is in the window (a positive correction is counted now
// once it left); the day's, only while that day's counts live. Nothing goes below zero.
inline constexpr std::string_view kSettleScript = R"lua(
redis.call('ZREM', KEYS[1], ARGV[1])
local delta = tonumber(ARGV[3])
if delta == 0 then return 1 end
if ARGV[4] == '1' then
  local t = redis.call('TIME')
  local second = tonumber(t[1])
  local at = tonumber(ARGV[2])
  if at >= second - 60 or delta > 0 then
    if at < second - 60 then at = second end
    if redis.call('HINCRBY', KEYS[2], at, delta) < 0 then redis.call('HSET', KEYS[2], at, 0) end
    redis.call('PEXPIRE', KEYS[2], 62000)
  end
end
if redis.call('EXISTS', KEYS[3]) == 1 then
  if redis.call('HINCRBY', KEYS[3], 't', delta) < 0 then redis.call('HSET', KEYS[3], 't', 0) end
end
return 1
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

// A health mark of a key for every instance, with its expiry: its cooldown after a 429, its
// breaker held open, its quarantine. KEYS[1]: the mark; ARGV: its length in ms. A longer one
// already in place is kept.
inline constexpr std::string_view kCoolScript = R"lua(
if redis.call('PTTL', KEYS[1]) < tonumber(ARGV[1]) then
  redis.call('SET', KEYS[1], '1', 'PX', ARGV[1])
end
return 1
)lua";

// The upstream answered "too many in flight" on a key: its max_concurrency is held one below
// what it was held to (at least 1), for every instance. KEYS[1]: the key's lowered concurrency;
// ARGV: the configured max_concurrency, how long the lowering lives without a success (ms).
// Answers the new limit. A success on the key deletes it (DEL), restoring max_concurrency.
inline constexpr std::string_view kLowerScript = R"lua(
local configured = tonumber(ARGV[1])
local held = tonumber(redis.call('GET', KEYS[1]) or '0') or 0
if held <= 0 or held > configured then held = configured end
local lowered = math.max(1, held - 1)
redis.call('SET', KEYS[1], lowered, 'PX', ARGV[2])
return lowered
)lua";

// The requests in flight on keys over every instance, for the reports: KEYS: the keys' leases;
// answers the live leases of each (expired ones, whose holder died, left out; nothing changed).
inline constexpr std::string_view kInFlightScript = R"lua(
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local out = {}
for i, key in ipairs(KEYS) do out[i] = redis.call('ZCOUNT', key, '(' .. now, '+inf') end
return out
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
