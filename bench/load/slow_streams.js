// Many slow streams at once: opens N streamed chat requests concurrently (one connection
// each), and checks that every one completes (status 200, `data: [DONE]`) and that no gap
// between two consecutive events exceeds the upstream's own gap plus the allowed slack.
// Usage: node slow_streams.js URL BODY_FILE N GAP_MS SLACK_MS [BEARER]
// Prints `OPEN {...}` once every stream has its first event (run.sh samples memory then),
// and at the end `SLOW {"completed","failed","max_gap_ms","p99_gap_ms","late_gaps",...}`.
'use strict';
const http = require('http');
const fs = require('fs');

const [url, bodyFile, nArg, gapArg, slackArg, bearer = 'bench-client'] = process.argv.slice(2);
const body = fs.readFileSync(bodyFile);
const n = Number(nArg);
const limitMs = Number(gapArg) + Number(slackArg);

const gaps = [];
let opened = 0;
let completed = 0;
let failed = 0;
const start = Date.now();

function stream() {
  return new Promise((resolve) => {
    const req = http.request(url, {
      method: 'POST', agent: false,
      headers: { 'Content-Type': 'application/json', 'Content-Length': body.length,
                 Authorization: `Bearer ${bearer}` },
    });
    req.setTimeout(60000, () => req.destroy(new Error('timeout')));
    req.on('response', (res) => {
      let tail = '';
      let last = 0;
      let done = false;
      res.setEncoding('utf8');
      res.on('data', (text) => {
        const now = performance.now();
        const events = (tail + text).split('\n\n');
        tail = events.pop();  // an event not finished yet
        if (events.length === 0) return;
        if (last === 0) { if (++opened === n) console.log('OPEN ' + JSON.stringify({ ms: Date.now() - start })); }
        else gaps.push(now - last);
        last = now;
        if (events.some((e) => e.trim() === 'data: [DONE]')) done = true;
      });
      res.on('end', () => {
        if (res.statusCode === 200 && done) ++completed; else ++failed;
        resolve();
      });
      res.on('error', () => { ++failed; resolve(); });
    });
    req.on('error', () => { ++failed; resolve(); });
    req.end(body);
  });
}

(async () => {
  await Promise.all(Array.from({ length: n }, stream));
  gaps.sort((a, b) => a - b);
  const pick = (p) => (gaps.length ? gaps[Math.min(gaps.length - 1, Math.floor(p * gaps.length))] : 0);
  console.log('SLOW ' + JSON.stringify({
    completed, failed, opened,
    max_gap_ms: Math.round((gaps.length ? gaps[gaps.length - 1] : 0) * 10) / 10,
    p99_gap_ms: Math.round(pick(0.99) * 10) / 10,
    late_gaps: gaps.filter((g) => g > limitMs).length,
    limit_ms: limitMs, seconds: (Date.now() - start) / 1000,
  }));
})();
