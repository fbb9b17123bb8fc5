// Shared helpers for the integration and conformance tests: start the real `mockllm` and
// `balancedcall` binaries on loopback port 0, write their configs, speak HTTP to them, and
// stop every process we started, by PID, even when a test fails.
//
// Binaries come from $BC_BUILD_DIR (default <repo>/build): src/balancedcall and
// tools/mockllm/mockllm; $BC_BALANCEDCALL and $BC_MOCKLLM override either path. All traffic
// goes to 127.0.0.1.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';

export const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
export const buildDir = path.resolve(repoRoot, process.env.BC_BUILD_DIR || 'build');
export const balancedcallBin = path.resolve(process.env.BC_BALANCEDCALL || path.join(buildDir, 'src', 'balancedcall'));
export const mockllmBin = path.resolve(process.env.BC_MOCKLLM || path.join(buildDir, 'tools', 'mockllm', 'mockllm'));

const STOP_GRACE_MS = 8000;  // SIGTERM, then SIGKILL after this long
const START_TIMEOUT_MS = 10000;

// ---------------------------------------------------------------------------------------
// Processes

const live = new Set();
const tempDirs = new Set();

// Last resort if a test file ends without its after() hook (e.g. a crash): nothing started
// here outlives the test process.
process.on('exit', () => {
  for (const p of live) {
    try { process.kill(p.pid, 'SIGKILL'); } catch { /* already gone */ }
  }
  for (const d of tempDirs) rmSync(d, { recursive: true, force: true });
});

// A started child process: its output so far, its exit, and the URL it listens on.
export class Proc {
  constructor(name, child) {
    this.name = name;
    this.child = child;
    this.pid = child.pid;
    this.stdout = '';
    this.stderr = '';
    this.exitInfo = null;  // {code, signal} once exited
    this.exited = new Promise((resolve) => {
      child.on('exit', (code, signal) => {
        this.exitInfo = { code, signal };
        live.delete(this);
        // A crash mid-test shows up as "fetch failed"; say what really happened.
        if (!this.signalled && (signal || code !== 0) && this.url) {
          console.error(`${name} (pid ${this.pid}) died on its own: ${JSON.stringify(this.exitInfo)}\n` +
            `--- its stderr (tail) ---\n${this.stderr.split('\n').slice(-15).join('\n')}`);
        }
        resolve(this.exitInfo);
      });
    });
    child.stdout.setEncoding('utf8');
    child.stderr.setEncoding('utf8');
    child.stdout.on('data', (d) => { this.stdout += d; });
    child.stderr.on('data', (d) => { this.stderr += d; });
  }

  // Sends `sig` now, without waiting.
  kill(sig) {
    this.signalled = true;
    if (!this.exitInfo) {
      try { process.kill(this.pid, sig); } catch { /* already gone */ }
    }
  }

  // Sends `sig` and resolves with {code, signal} once the process has exited.
  async signal(sig) {
    this.kill(sig);
    return this.exited;
  }

  // SIGTERM, then SIGKILL if it is still running after `graceMs`.
  async stop(graceMs = STOP_GRACE_MS) {
    if (this.exitInfo) return this.exitInfo;
    this.signalled = true;
    try { process.kill(this.pid, 'SIGTERM'); } catch { /* already gone */ }
    const timer = setTimeout(() => {
      try { process.kill(this.pid, 'SIGKILL'); } catch { /* already gone */ }
    }, graceMs);
    const info = await this.exited;
    clearTimeout(timer);
    return info;
  }

  // Resolves with the exit info, or rejects if the process is still running after `ms`.
  async waitExit(ms) {
    let timer;
    const timeout = new Promise((_, reject) => {
      timer = setTimeout(() => reject(new Error(`${this.name} still running after ${ms} ms`)), ms);
    });
    try {
      return await Promise.race([this.exited, timeout]);
    } finally {
      clearTimeout(timer);
    }
  }

  output() {
    return `--- ${this.name} stdout ---\n${this.stdout}\n--- ${this.name} stderr ---\n${this.stderr}`;
  }
}

function requireBinary(bin) {
  if (!existsSync(bin)) {
    throw new Error(`${bin} is not built (run scripts/build.sh, or set BC_BUILD_DIR)`);
  }
}

// Starts `bin args` and waits for `<name> listening on http(s)://<host>:<port>` on its stdout.
// Resolves with a Proc whose `url` is http(s)://127.0.0.1:<port>.
export async function startListening(name, bin, args, { env } = {}) {
  requireBinary(bin);
  const child = spawn(bin, args, {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, ...env },
  });
  const proc = new Proc(name, child);
  live.add(proc);
  const pattern = new RegExp(`${name} listening on (https?)://([^\\s:/]+|\\[[^\\]]+\\]):(\\d+)`);
  try {
    await new Promise((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`${name} did not print its listening line within ${START_TIMEOUT_MS} ms`)),
        START_TIMEOUT_MS);
      const onData = () => {
        const m = pattern.exec(proc.stdout);
        if (m) {
          clearTimeout(timer);
          child.stdout.off('data', onData);
          proc.port = Number(m[3]);
          proc.url = `${m[1]}://127.0.0.1:${proc.port}`;
          resolve();
        }
      };
      child.stdout.on('data', onData);
      child.on('error', (err) => { clearTimeout(timer); reject(err); });
      proc.exited.then((info) => {
        clearTimeout(timer);
        reject(new Error(`${name} exited (${JSON.stringify(info)}) before listening`));
      });
    });
  } catch (err) {
    await proc.stop(1000);
    err.message += `\n${proc.output()}`;
    throw err;
  }
  return proc;
}

export function startMockllm(args = []) {
  return startListening('mockllm', mockllmBin, ['--port', '0', ...args]);
}

// `config`: a path, an object (written as YAML), or null for the embedded demo config.
export function startGateway(config, { args = [], env } = {}) {
  const configArgs = config == null ? [] : ['--config', typeof config === 'string' ? config : writeConfig(config)];
  return startListening('balancedcall', balancedcallBin,
    ['serve', ...configArgs, '--host', '127.0.0.1', '--port', '0', ...args], { env });
}

// Runs `balancedcall <args>` to completion (bounded) and resolves {code, signal, stdout, stderr}.
export async function runGateway(args, { timeoutMs = 10000, env } = {}) {
  requireBinary(balancedcallBin);
  const child = spawn(balancedcallBin, args, {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, ...env },
  });
  const proc = new Proc('balancedcall', child);
  live.add(proc);
  const timer = setTimeout(() => proc.stop(1000), timeoutMs);
  const info = await proc.exited;
  clearTimeout(timer);
  return { ...info, stdout: proc.stdout, stderr: proc.stderr };
}

// Stops every process still running, in parallel; call it from an after() hook.
export async function stopAll() {
  await Promise.all([...live].map((p) => p.stop()));
  for (const d of tempDirs) rmSync(d, { recursive: true, force: true });
  tempDirs.clear();
}

// ---------------------------------------------------------------------------------------
// Configs

// A minimal YAML writer for configs: objects as blocks, arrays and scalars as JSON flow
// values (JSON is valid YAML).
export function toYaml(value, indent = 0) {
  const pad = ' '.repeat(indent);
  let out = '';
  for (const [k, v] of Object.entries(value)) {
    if (v === undefined) continue;
    const key = /^[A-Za-z_][\w.-]*$/.test(k) ? k : JSON.stringify(k);
    if (v !== null && typeof v === 'object' && !Array.isArray(v) && Object.keys(v).length > 0) {
      out += `${pad}${key}:\n${toYaml(v, indent + 2)}`;
    } else {
      out += `${pad}${key}: ${JSON.stringify(v)}\n`;
    }
  }
  return out;
}

// A fresh temporary directory named `${prefix}XXXXXX`, removed by stopAll() (or at exit).
export function tempDir(prefix = 'bc-test-') {
  const dir = mkdtempSync(path.join(tmpdir(), prefix));
  tempDirs.add(dir);
  return dir;
}

// Writes `config` (an object, or YAML text) to a fresh temp file and returns its path.
export function writeConfig(config, name = 'balancedcall.yaml') {
  const dir = tempDir();
  const file = path.join(dir, name);
  writeFileSync(file, typeof config === 'string' ? config : toYaml(config));
  return file;
}

// A gateway config with test-friendly limits: a short shutdown grace and upstream timeouts.
export function gatewayConfig(models, { server = {}, upstream = {}, enabled_models } = {}) {
  return {
    server: { shutdown_grace_ms: 3000, ...server },
    upstream: { connect_timeout_ms: 2000, first_byte_timeout_ms: 10000, idle_timeout_ms: 10000, ...upstream },
    enabled_models,
    models,
  };
}

const keyList = (keys) => keys.map((k) => (typeof k === 'string' ? { key: k, weight: 1 } : k));

// A model on mockllm's OpenAI endpoint. The keys steer mockllm: `<name>[;opt=value]...`.
export function openaiModel(mock, keys, extra = {}) {
  return { provider: 'openai', model: 'gpt-4o-mini', base_url: `${mock.url}/v1`, api_keys: keyList(keys), ...extra };
}

// A model on mockllm's Zhipu (GLM v4) endpoint.
export function zhipuModel(mock, keys, extra = {}) {
  return { provider: 'zhipu', model: 'glm-4-flash', base_url: `${mock.url}/api/paas/v4`, api_keys: keyList(keys), ...extra };
}

// Where each provider type lives on mockllm, and an upstream model id for it. `baidu-legacy`
// is provider `baidu` with a wenxinworkshop base_url (keys `<API Key>:<Secret Key>`; the
// model is the ERNIE endpoint name).
export const mockProviders = {
  openai: { provider: 'openai', model: 'gpt-4o-mini', path: '/v1' },
  zhipu: { provider: 'zhipu', model: 'glm-4-flash', path: '/api/paas/v4' },
  anthropic: { provider: 'anthropic', model: 'claude-3-5-haiku-latest', path: '/v1' },
  gemini: { provider: 'gemini', model: 'gemini-2.0-flash', path: '/v1beta' },
  ollama: { provider: 'ollama', model: 'llama3.2', path: '' },
  'baidu-v2': { provider: 'baidu', model: 'ernie-4.0-8k', path: '/v2' },
  'baidu-legacy': { provider: 'baidu', model: 'completions_pro', path: '/rpc/2.0/ai_custom/v1/wenxinworkshop/chat' },
  spark: { provider: 'spark', model: 'lite', path: '/spark/v1' },
};

// A model of any provider type in `mockProviders`, on mockllm's endpoint for that format.
export function providerModel(mock, type, keys, extra = {}) {
  const p = mockProviders[type];
  if (!p) throw new Error(`providerModel: unknown provider type '${type}'`);
  return { provider: p.provider, model: p.model, base_url: `${mock.url}${p.path}`, api_keys: keyList(keys), ...extra };
}

// A model on the gateway's built-in mock provider (no network).
export function mockModel({ reply, latency_ms = 20, tokens_per_second = 200, keys = ['sk-mock-builtin-0000'] } = {}, extra = {}) {
  return { provider: 'mock', api_keys: keyList(keys), mock: { latency_ms, tokens_per_second, reply }, ...extra };
}

// ---------------------------------------------------------------------------------------
// HTTP

export const userMessage = (content = 'hi') => [{ role: 'user', content }];

// Sends a request and reads the whole answer. Resolves {status, headers, text, json}; json
// is undefined when the body is not JSON.
export async function request(url, { method = 'GET', body, headers = {}, timeoutMs = 10000 } = {}) {
  const init = { method, headers: { ...headers }, signal: AbortSignal.timeout(timeoutMs) };
  if (body !== undefined) {
    init.body = typeof body === 'string' || body instanceof Uint8Array ? body : JSON.stringify(body);
    if (!Object.keys(init.headers).some((h) => h.toLowerCase() === 'content-type')) {
      init.headers['content-type'] = 'application/json';
    }
  }
  const res = await fetch(url, init);
  const text = await res.text();
  let json;
  try { json = JSON.parse(text); } catch { json = undefined; }
  return { status: res.status, headers: res.headers, text, json };
}

export const postJson = (url, body, opts = {}) => request(url, { ...opts, method: 'POST', body });

// Starts a streaming POST and resolves with the fetch Response (headers received).
export async function openStream(url, body, { signal, timeoutMs = 15000 } = {}) {
  const signals = [AbortSignal.timeout(timeoutMs)];
  if (signal) signals.push(signal);
  return fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
    signal: anySignal(signals),
  });
}

// AbortSignal.any() is Node 20+; this works on 18 too.
function anySignal(signals) {
  const ctrl = new AbortController();
  for (const s of signals) {
    if (s.aborted) { ctrl.abort(s.reason); break; }
    s.addEventListener('abort', () => ctrl.abort(s.reason), { once: true });
  }
  return ctrl.signal;
}

// Yields each body chunk as {t, text}, t in ms (performance.now()) when it arrived.
export async function* bodyChunks(res) {
  const reader = res.body.getReader();
  const decoder = new TextDecoder();
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      yield { t: performance.now(), text: decoder.decode(value, { stream: true }) };
    }
  } finally {
    reader.releaseLock();
  }
}

// Yields each server-sent event's data as {t, data}, t when its last byte arrived.
export async function* sseEvents(res) {
  let buf = '';
  for await (const { t, text } of bodyChunks(res)) {
    buf += text.replace(/\r\n/g, '\n');
    let end;
    while ((end = buf.indexOf('\n\n')) >= 0) {
      const block = buf.slice(0, end);
      buf = buf.slice(end + 2);
      const data = block.split('\n').filter((l) => l.startsWith('data:'))
        .map((l) => l.slice(5).replace(/^ /, '')).join('\n');
      if (data !== '' || block.includes('data:')) yield { t, data };
    }
  }
  if (buf.trim() !== '') yield { t: performance.now(), data: null, trailing: buf };
}

// Reads a whole OpenAI SSE stream: {events, content, done, firstContentAt, endAt, chunks}.
// `chunks` are the parsed JSON chunks; `done` says whether `data: [DONE]` ended it.
export async function readOpenAiStream(res, { onContent } = {}) {
  const out = { events: [], chunks: [], content: '', done: false, firstContentAt: null, endAt: null, afterDone: [] };
  for await (const ev of sseEvents(res)) {
    out.events.push(ev);
    if (out.done) { out.afterDone.push(ev); continue; }
    if (ev.data === '[DONE]') { out.done = true; continue; }
    const chunk = JSON.parse(ev.data);
    out.chunks.push(chunk);
    const piece = chunk.choices?.[0]?.delta?.content ?? '';
    if (piece !== '') {
      out.content += piece;
      if (out.firstContentAt === null) out.firstContentAt = ev.t;
      if (onContent) await onContent(piece, out);
    }
  }
  out.endAt = performance.now();
  return out;
}

// Reads a plain-text chunked stream (/llm/chat/stream): {text, chunks, firstAt, endAt}.
export async function readTextStream(res) {
  const out = { text: '', chunks: [], firstAt: null, endAt: null };
  for await (const c of bodyChunks(res)) {
    if (c.text === '') continue;
    out.chunks.push(c);
    out.text += c.text;
    if (out.firstAt === null) out.firstAt = c.t;
  }
  out.endAt = performance.now();
  return out;
}

// ---------------------------------------------------------------------------------------
// mockllm and waiting

export async function mockStats(mock) {
  const r = await request(`${mock.url}/_mock/stats`);
  if (r.status !== 200 || !r.json) throw new Error(`mockllm stats: ${r.status} ${r.text}`);
  return r.json;
}

export async function mockReset(mock) {
  const r = await request(`${mock.url}/_mock/reset`, { method: 'POST' });
  if (r.status >= 300) throw new Error(`mockllm reset: ${r.status} ${r.text}`);
}

// Polls `probe` until it returns a truthy value and resolves that value; throws after
// `timeoutMs`.
export async function waitFor(probe, { timeoutMs = 2000, intervalMs = 20, what = 'condition' } = {}) {
  const deadline = performance.now() + timeoutMs;
  let last;
  for (;;) {
    last = await probe();
    if (last) return last;
    if (performance.now() > deadline) {
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    }
    await sleep(intervalMs);
  }
}

// Asserts the OpenAI error shape {"error":{"message","type","param","code"}} and returns `error`.
export function openAiError(res) {
  const body = res.json;
  if (!body || typeof body !== 'object' || typeof body.error !== 'object' || body.error === null) {
    throw new Error(`not an OpenAI error body (status ${res.status}): ${res.text}`);
  }
  const e = body.error;
  if (typeof e.message !== 'string' || e.message === '') throw new Error(`error.message missing: ${res.text}`);
  if (typeof e.type !== 'string' || e.type === '') throw new Error(`error.type missing: ${res.text}`);
  if (!('code' in e)) throw new Error(`error.code missing: ${res.text}`);
  if (!('param' in e)) throw new Error(`error.param missing (OpenAI's ErrorResponse requires it): ${res.text}`);
  return e;
}

export { sleep };

// A self-signed P-256 certificate for 127.0.0.1 and localhost (its own CA), valid one day.
export function makeCertificate(where) {
  const cert = path.join(where, 'cert.pem');
  const key = path.join(where, 'key.pem');
  const r = spawnSync('openssl', [
    'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes',
    '-keyout', key, '-out', cert, '-days', '1', '-subj', '/CN=localhost',
    '-addext', 'subjectAltName=IP:127.0.0.1,DNS:localhost',
  ], { encoding: 'utf8', timeout: 10000 });
  if (r.error || r.status !== 0) {
    throw new Error(`openssl req failed (is the openssl CLI installed?): ${r.error ?? r.stderr}`);
  }
  return { cert, key };
}
