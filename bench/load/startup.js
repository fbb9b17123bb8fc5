// Start-up to first answer: spawns a server, then sends a chat request every millisecond
// until one is answered 200, and prints the time from spawn to that answer. Stops the
// server it spawned (by its PID) before exiting.
// Usage: node startup.js PORT PATH BODY_FILE -- CMD ARGS...   Prints `STARTUP {"ms":...}`.
'use strict';
const http = require('http');
const fs = require('fs');
const { spawn } = require('child_process');

const sep = process.argv.indexOf('--');
const [port, path, bodyFile] = process.argv.slice(2, sep);
const cmd = process.argv.slice(sep + 1);
const body = fs.readFileSync(bodyFile);

function attempt() {
  return new Promise((resolve) => {
    const req = http.request({
      host: '127.0.0.1', port: Number(port), path, method: 'POST', agent: false,
      headers: { 'Content-Type': 'application/json', 'Content-Length': body.length },
    }, (res) => { res.resume(); res.on('end', () => resolve(res.statusCode === 200)); });
    req.on('error', () => resolve(false));
    req.end(body);
  });
}

(async () => {
  const start = process.hrtime.bigint();
  const child = spawn(cmd[0], cmd.slice(1), { stdio: 'ignore' });
  const exited = new Promise((resolve) => child.on('exit', resolve));
  // run.sh's EXIT trap stops this script by PID: take the child down with it.
  process.on('SIGTERM', () => { child.kill('SIGKILL'); process.exit(1); });
  let ms = null;
  const deadline = Date.now() + 10000;
  while (Date.now() < deadline && child.exitCode === null) {
    if (await attempt()) { ms = Number(process.hrtime.bigint() - start) / 1e6; break; }
    await new Promise((r) => setTimeout(r, 1));
  }
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 3000);
  await exited;
  clearTimeout(timer);
  console.log('STARTUP ' + JSON.stringify({ ms: ms === null ? null : Math.round(ms * 10) / 10 }));
  process.exitCode = ms === null ? 1 : 0;
})();
