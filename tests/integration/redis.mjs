// A real redis-server for the scale-out tests: started on a free 127.0.0.1 port with its own
// temporary directory and nothing persisted (`--save '' --appendonly no`), stopped by PID.
// `stopAllRedis()` belongs in the test file's after() hook, beside the harness's stopAll.
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

const running = new Set();

process.on('exit', () => {
  for (const r of running) {
    try { process.kill(r.pid, 'SIGKILL'); } catch { /* already gone */ }
    rmSync(r.dir, { recursive: true, force: true });
  }
});

// A port nothing listens on right now (the kernel's pick for port 0, released at once).
export function freePort() {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

function canConnect(port) {
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1');
    socket.once('connect', () => { socket.destroy(); resolve(true); });
    socket.once('error', () => resolve(false));
  });
}

// Resolves with {pid, port, dir, url, stop()} once redis-server accepts connections.
export async function startRedis({ password, port } = {}) {
  const chosen = port ?? await freePort();
  const dir = mkdtempSync(path.join(tmpdir(), 'bc-redis-'));
  const args = ['--port', String(chosen), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no',
    '--dir', dir, '--logfile', path.join(dir, 'redis.log')];
  if (password) args.push('--requirepass', password);
  const child = spawn('redis-server', args, { stdio: 'ignore' });
  const exited = new Promise((resolve) => child.on('exit', resolve));
  const r = {
    pid: child.pid,
    port: chosen,
    dir,
    url: `redis://127.0.0.1:${chosen}`,
    async stop(signal = 'SIGTERM') {
      if (!running.has(r)) return;
      running.delete(r);
      try { process.kill(r.pid, signal); } catch { /* already gone */ }
      await exited;
      rmSync(dir, { recursive: true, force: true });
    },
  };
  running.add(r);
  child.on('error', () => running.delete(r));
  for (let i = 0; i < 200; i += 1) {
    if (await canConnect(chosen)) return r;
    await sleep(25);
  }
  await r.stop('SIGKILL');
  throw new Error(`redis-server did not listen on 127.0.0.1:${chosen} within 5 s (is redis-server installed?)`);
}

export async function stopAllRedis() {
  await Promise.all([...running].map((r) => r.stop('SIGKILL')));
}

// Sends one command to the Redis on 127.0.0.1:`port` and resolves with what `complete` makes
// of the answer read so far, once it makes something of it (undefined: read on).
function roundTrip(port, args, complete) {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1');
    let answer = '';
    socket.on('error', reject);
    socket.on('data', (d) => {
      answer += d;
      const result = complete(answer);
      if (result !== undefined) { socket.destroy(); resolve(result); }
    });
    socket.write(`*${args.length}\r\n${args.map((a) => `$${Buffer.byteLength(a)}\r\n${a}\r\n`).join('')}`);
  });
}

// One command; resolves with its answer's first line (":42", "+OK", "$-1", ...), enough for
// integer and status answers.
export function redisCommand(port, ...args) {
  return roundTrip(port, args, (answer) => (answer.includes('\r\n') ? answer.split('\r\n')[0] : undefined));
}

// A key's name in Redis: its model and the first 16 hex digits of its secret's SHA-1.
export const redisKeyId = (model, secret) => `${model}/${createHash('sha1').update(secret).digest('hex').slice(0, 16)}`;

// Redis's `INFO commandstats` as {command: calls}, e.g. {evalsha: 12, zrem: 12, ...}. Redis
// counts the commands its scripts run too.
export function redisCommandCalls(port) {
  return roundTrip(port, ['INFO', 'commandstats'], (answer) => {
    const head = answer.indexOf('\r\n');
    if (head < 0) return undefined;
    const length = Number(answer.slice(1, head));
    if (Buffer.byteLength(answer) < head + 2 + length) return undefined;
    const calls = {};
    for (const m of answer.matchAll(/cmdstat_([a-z|]+):calls=(\d+)/g)) calls[m[1]] = Number(m[2]);
    return calls;
  });
}
