// Time to first byte of a streamed answer: sends N stream requests one after another on one
// keep-alive connection and times each from the request's last byte to the first body byte.
// Usage: node ttfb.js URL BODY_FILE N [BEARER]. Prints `TTFB {"p50_us",...}`.
'use strict';
const http = require('http');
const fs = require('fs');

const [url, bodyFile, nArg, bearer = 'bench-client'] = process.argv.slice(2);
const body = fs.readFileSync(bodyFile);
const n = Number(nArg);
const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });

function once() {
  return new Promise((resolve) => {
    const req = http.request(url, {
      method: 'POST', agent,
      headers: { 'Content-Type': 'application/json', 'Content-Length': body.length,
                 Authorization: `Bearer ${bearer}` },
    });
    let start = 0n;
    let first = 0n;
    req.on('response', (res) => {
      res.on('data', () => { if (first === 0n) first = process.hrtime.bigint(); });
      res.on('end', () => resolve(res.statusCode === 200 && first > 0n
        ? Number(first - start) / 1000 : null));
    });
    req.on('error', () => resolve(null));
    req.end(body, () => { start = process.hrtime.bigint(); });
  });
}

function percentile(sorted, p) {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

(async () => {
  for (let i = 0; i < 20; ++i) await once();  // warm the connection and the proxy's pool
  const times = [];
  let errors = 0;
  for (let i = 0; i < n; ++i) {
    const t = await once();
    if (t === null) ++errors; else times.push(t);
  }
  times.sort((a, b) => a - b);
  console.log('TTFB ' + JSON.stringify({
    n: times.length, errors,
    p50_us: Math.round(percentile(times, 50)), p90_us: Math.round(percentile(times, 90)),
  }));
  agent.destroy();
})();
