-- wrk script: POSTs one chat request body (BENCH_BODY, a file) to BENCH_PATH, and at the end
-- prints one machine-readable line that run.sh parses instead of wrk's human summary.
-- Latency percentiles are wrk's, in microseconds; errors count non-2xx/3xx answers, socket
-- errors and timeouts, so a run where the proxy refused requests is visible.
-- BENCH_PACE_MS (optional): each connection waits about that long after an answer before its
-- next request (0 to twice it, at random: wrk's timers tick in whole ms, and equal waits would
-- send the connections' requests in bursts), so the load is a steady rate below saturation and
-- p50 is nearer a request's own latency than the queue of a saturated machine.
local function read_file(path)
  local f = assert(io.open(path, "rb"))
  local s = f:read("*a")
  f:close()
  return s
end

wrk.method = "POST"
wrk.path = os.getenv("BENCH_PATH") or "/v1/chat/completions"
wrk.body = read_file(assert(os.getenv("BENCH_BODY"), "BENCH_BODY not set"))
wrk.headers["Content-Type"] = "application/json"
-- The HAProxy route to mockllm passes this through; nginx and BalancedCall ignore it.
wrk.headers["Authorization"] = "Bearer " .. (os.getenv("BENCH_BEARER") or "bench-client")

local pace_ms = tonumber(os.getenv("BENCH_PACE_MS") or "0")
if pace_ms > 0 then
  math.randomseed(os.time())
  function delay()
    return math.random(0, 2 * pace_ms)
  end
end

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'WRK {"requests":%d,"duration_us":%d,"bytes":%d,"errors":%d,' ..
    '"p50_us":%d,"p90_us":%d,"p99_us":%d}\n',
    summary.requests, summary.duration, summary.bytes,
    e.connect + e.read + e.write + e.status + e.timeout,
    latency:percentile(50), latency:percentile(90), latency:percentile(99)))
end
