// Observability and access control end to end: /metrics parses as strict Prometheus text and
// its counters move with requests, retries and cooldowns; the access log holds one JSON line
// per request; X-Request-Id is echoed or generated on every response; client keys and the
// admin token refuse what they must; and no configured secret appears in anything the
// gateway wrote.
import assert from 'node:assert/strict';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { after, before, describe, test } from 'node:test';
import OpenAI from 'openai';
import {
  gatewayConfig, mockModel, openAiError, openaiModel, readOpenAiStream, request, startGateway,
  startMockllm, stopAll, userMessage, waitFor, writeConfig,
} from './harness.mjs';

// ---------------------------------------------------------------------------------------
// A strict reader of the Prometheus text exposition format 0.0.4.

function parseLabels(text, line) {
  const labels = {};
  let i = 0;
  while (i < text.length) {
    const m = /^([a-zA-Z_][a-zA-Z0-9_]*)="/.exec(text.slice(i));
    if (!m) throw new Error(`bad label in: ${line}`);
    i += m[0].length;
    let v = '';
    for (;;) {
      if (i >= text.length) throw new Error(`unterminated label value: ${line}`);
      const c = text[i++];
      if (c === '"') break;
      if (c === '\\') {
        const e = text[i++];
        if (e === 'n') v += '\n';
        else if (e === '\\' || e === '"') v += e;
        else throw new Error(`bad escape in: ${line}`);
      } else {
        v += c;
      }
    }
    if (m[1] in labels) throw new Error(`label twice: ${line}`);
    labels[m[1]] = v;
    if (text[i] === ',') i++;
    else if (i !== text.length) throw new Error(`expected , or } in: ${line}`);
  }
  return labels;
}

export function parseExposition(text) {
  const NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
  const types = new Map();
  const samples = [];
  assert.ok(text.endsWith('\n'), 'exposition must end with a newline');
  for (const line of text.slice(0, -1).split('\n')) {
    if (line === '') throw new Error('empty line in exposition');
    let m;
    if ((m = /^# HELP (\S+) (.*)$/.exec(line))) {
      if (!NAME.test(m[1])) throw new Error(`bad HELP: ${line}`);
      continue;
    }
    if ((m = /^# TYPE (\S+) (counter|gauge|histogram|summary|untyped)$/.exec(line))) {
      if (!NAME.test(m[1]) || types.has(m[1])) throw new Error(`bad or repeated TYPE: ${line}`);
      types.set(m[1], m[2]);
      continue;
    }
    if (line.startsWith('#')) throw new Error(`unexpected comment: ${line}`);
    m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)(?: (-?\d+))?$/.exec(line);
    if (!m) throw new Error(`bad sample line: ${line}`);
    const value = m[3] === '+Inf' ? Infinity : m[3] === '-Inf' ? -Infinity : m[3] === 'NaN' ? NaN : Number(m[3]);
    if (m[3] !== 'NaN' && Number.isNaN(value)) throw new Error(`bad value: ${line}`);
    let family = m[1];
    if (!types.has(family)) family = family.replace(/_(bucket|sum|count)$/, '');
    if (!types.has(family)) throw new Error(`sample before its TYPE: ${line}`);
    if (types.get(family) === 'counter' && value < 0) throw new Error(`negative counter: ${line}`);
    samples.push({ name: m[1], labels: m[2] ? parseLabels(m[2], line) : {}, value });
  }
  // Histograms: cumulative buckets, the last one +Inf and equal to _count.
  for (const [family, type] of types) {
    if (type !== 'histogram') continue;
    const series = new Map();
    for (const s of samples.filter((x) => x.name === `${family}_bucket`)) {
      const { le, ...rest } = s.labels;
      const k = JSON.stringify(rest);
      if (!series.has(k)) series.set(k, []);
      series.get(k).push([le === '+Inf' ? Infinity : Number(le), s.value]);
    }
    for (const [k, buckets] of series) {
      for (let i = 1; i < buckets.length; i++) {
        assert.ok(buckets[i][0] > buckets[i - 1][0] && buckets[i][1] >= buckets[i - 1][1], `${family} buckets not cumulative`);
      }
      assert.equal(buckets.at(-1)[0], Infinity, `${family}: no +Inf bucket`);
      const count = samples.find((x) => x.name === `${family}_count` && JSON.stringify(x.labels) === k);
      assert.equal(count?.value, buckets.at(-1)[1], `${family}: +Inf bucket differs from _count`);
    }
  }
  return {
    types,
    samples,
    // The sum over every sample of `name` whose labels include `match`.
    sum(name, match = {}) {
      return samples.filter((s) => s.name === name && Object.entries(match).every(([k, v]) => s.labels[k] === v))
        .reduce((a, s) => a + s.value, 0);
    },
  };
}

const FAMILIES = [
  'bc_requests_total', 'bc_request_duration_seconds', 'bc_time_to_first_token_seconds',
  'bc_gateway_overhead_seconds', 'bc_upstream_attempts_total', 'bc_retries_total', 'bc_failovers_total',
  'bc_in_flight', 'bc_load_factor', 'bc_key_state', 'bc_queue_length', 'bc_queue_wait_seconds', 'bc_tokens_total',
];

const readLines = (file) => (existsSync(file) ? readFileSync(file, 'utf8').split('\n').filter((l) => l !== '') : []);

// ---------------------------------------------------------------------------------------

describe('metrics, access log and request ids', { timeout: 60000 }, () => {
  let mock;
  let gw;
  let logFile;
  let sent = 0;  // requests sent to the gateway: the access log must hold as many lines
  const get = (p, opts = {}) => { sent++; return request(`${gw.url}${p}`, opts); };
  const chat = (body, headers = {}) => { sent++; return request(`${gw.url}/v1/chat/completions`, { method: 'POST', body, headers }); };
  const scrape = async () => {
    const r = await get('/metrics');
    assert.equal(r.status, 200, r.text);
    assert.match(r.headers.get('content-type'), /^text\/plain; version=0\.0\.4/);
    return parseExposition(r.text);
  };

  before(async () => {
    mock = await startMockllm();
    logFile = writeConfig('', 'access.log');  // a fresh temp path (the gateway appends to it)
    gw = await startGateway({
      ...gatewayConfig({
        good: openaiModel(mock, [{ key: 'good-a;tokens=5;latency=1', name: 'good-a' }]),
        // The failing key weighs so much more that it is (almost) always tried first.
        flaky: openaiModel(mock, [
          { key: 'bad-500;status=500', name: 'bad-500', weight: 1000000 },
          { key: 'ok-b;tokens=3;latency=1', name: 'ok-b', weight: 0.000001 },
        ], { max_retries: 3 }),
        limited: openaiModel(mock, [{ key: 'rl;status=429;retry_after=5', name: 'rl' }], { max_retries: 0 }),
        builtin: mockModel({ keys: [{ key: 'sk-mock-observe-1234', name: 'builtin-key' }] }),
      }),
      log: { access: logFile },
    });
  });
  after(stopAll);

  test('/metrics parses strictly and declares every family once', async () => {
    await chat({ model: 'good', messages: userMessage() });  // so the per-request families have series
    const m = await scrape();
    for (const f of FAMILIES) assert.ok(m.types.has(f), `missing family ${f}`);
    assert.equal(m.sum('bc_key_state', { model: 'good', key: 'good-a', state: 'ok' }), 1);
  });

  test('request, token and time-to-first-token counters move with traffic', async () => {
    const before = await scrape();
    for (let i = 0; i < 3; i++) {
      const r = await chat({ model: 'good', messages: userMessage() });
      assert.equal(r.status, 200, r.text);
    }
    sent++;
    const res = await fetch(`${gw.url}/v1/chat/completions`, {
      method: 'POST', headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'builtin', messages: userMessage(), stream: true, stream_options: { include_usage: true } }),
    });
    assert.ok((await readOpenAiStream(res)).done);
    // The stream's figures are counted once its last byte is written, which the client may
    // read first: wait for them rather than race them.
    const ttft = (m) => m.sum('bc_time_to_first_token_seconds_count', { model: 'builtin' });
    const now = await waitFor(async () => {
      const m = await scrape();
      return ttft(m) - ttft(before) >= 1 ? m : null;
    }, { timeoutMs: 5000, intervalMs: 20, what: 'the stream counted in /metrics' });
    const ok = { model: 'good', key: 'good-a', route: '/v1/chat/completions', status_class: '2xx' };
    assert.equal(now.sum('bc_requests_total', ok) - before.sum('bc_requests_total', ok), 3);
    assert.equal(now.sum('bc_upstream_attempts_total', { model: 'good', outcome: 'ok' }) -
      before.sum('bc_upstream_attempts_total', { model: 'good', outcome: 'ok' }), 3);
    assert.ok(now.sum('bc_tokens_total', { model: 'good', direction: 'completion' }) >
      before.sum('bc_tokens_total', { model: 'good', direction: 'completion' }));
    assert.equal(now.sum('bc_time_to_first_token_seconds_count', { model: 'builtin' }) -
      before.sum('bc_time_to_first_token_seconds_count', { model: 'builtin' }), 1);
    assert.ok(now.sum('bc_gateway_overhead_seconds_count') - before.sum('bc_gateway_overhead_seconds_count') >= 4);
    assert.ok(now.sum('bc_request_duration_seconds_count', { route: '/metrics' }) >= 1);
  });

  test('retries are counted, and each failed attempt with its outcome', async () => {
    const before = await scrape();
    for (let i = 0; i < 4; i++) {
      const r = await chat({ model: 'flaky', messages: userMessage() });
      assert.equal(r.status, 200, r.text);
    }
    const now = await scrape();
    const errors = now.sum('bc_upstream_attempts_total', { model: 'flaky', key: 'bad-500', outcome: 'error' }) -
      before.sum('bc_upstream_attempts_total', { model: 'flaky', key: 'bad-500', outcome: 'error' });
    const retries = now.sum('bc_retries_total') - before.sum('bc_retries_total');
    assert.ok(errors >= 1, `no failed attempt counted (errors ${errors})`);
    assert.equal(retries, errors, 'every failed attempt was followed by one retry');
    assert.equal(now.sum('bc_failovers_total') - before.sum('bc_failovers_total'), 0, 'retries within one model are no failover');
    assert.equal(now.sum('bc_upstream_attempts_total', { model: 'flaky', key: 'ok-b', outcome: 'ok' }) -
      before.sum('bc_upstream_attempts_total', { model: 'flaky', key: 'ok-b', outcome: 'ok' }), 4);
  });

  test('a 429 with Retry-After puts the key in the cooling state', async () => {
    const before = await scrape();
    assert.equal(before.sum('bc_key_state', { model: 'limited', key: 'rl', state: 'ok' }), 1);
    const r = await chat({ model: 'limited', messages: userMessage() });
    assert.ok(r.status >= 400, r.text);
    const now = await scrape();
    assert.equal(now.sum('bc_key_state', { model: 'limited', key: 'rl', state: 'cooling' }), 1);
    assert.equal(now.sum('bc_key_state', { model: 'limited', key: 'rl', state: 'ok' }), 0);
    assert.equal(now.sum('bc_upstream_attempts_total', { model: 'limited', key: 'rl', outcome: 'rate_limited' }) -
      before.sum('bc_upstream_attempts_total', { model: 'limited', key: 'rl', outcome: 'rate_limited' }), 1);
    assert.equal(now.sum('bc_requests_total', { route: '/v1/chat/completions', status_class: '4xx', model: 'limited' }) +
      now.sum('bc_requests_total', { route: '/v1/chat/completions', status_class: '5xx', model: 'limited' }) -
      before.sum('bc_requests_total', { route: '/v1/chat/completions', status_class: '4xx', model: 'limited' }) -
      before.sum('bc_requests_total', { route: '/v1/chat/completions', status_class: '5xx', model: 'limited' }), 1);
  });

  test('X-Request-Id is echoed when sane and generated otherwise, on every kind of response', async () => {
    const echoed = await chat({ model: 'good', messages: userMessage() }, { 'x-request-id': 'trace-abc.123:x' });
    assert.equal(echoed.headers.get('x-request-id'), 'trace-abc.123:x');
    const generated = await get('/health');
    assert.match(generated.headers.get('x-request-id'), /^[0-9a-f]{32}$/);
    const insane = await get('/nope', { headers: { 'x-request-id': 'has spaces and "quotes"' } });
    assert.equal(insane.status, 404);
    assert.match(insane.headers.get('x-request-id'), /^[0-9a-f]{32}$/);
    const tooLong = await get('/health', { headers: { 'x-request-id': 'a'.repeat(129) } });
    assert.match(tooLong.headers.get('x-request-id'), /^[0-9a-f]{32}$/);
    const failed = await chat({ model: 'no-such-model', messages: userMessage() }, { 'x-request-id': 'err-1' });
    assert.equal(failed.status, 404);
    assert.equal(failed.headers.get('x-request-id'), 'err-1');
    sent++;
    const res = await fetch(`${gw.url}/v1/chat/completions`, {
      method: 'POST', headers: { 'content-type': 'application/json', 'x-request-id': 'stream-1' },
      body: JSON.stringify({ model: 'builtin', messages: userMessage(), stream: true }),
    });
    assert.equal(res.headers.get('x-request-id'), 'stream-1');
    assert.ok((await readOpenAiStream(res)).done);
    const ids = new Set([generated, insane, tooLong].map((r) => r.headers.get('x-request-id')));
    assert.equal(ids.size, 3, 'generated ids are distinct');
  });

  test('the access log holds one JSON line per request, with every field', async () => {
    const lines = await waitFor(() => {
      const l = readLines(logFile);
      return l.length >= sent ? l : null;
    }, { timeoutMs: 3000, what: `${sent} access log lines` });
    assert.equal(lines.length, sent);
    const records = lines.map((l) => JSON.parse(l));
    const fields = ['ts', 'request_id', 'method', 'route', 'path', 'model', 'key', 'attempts', 'status',
      'ttfb_ms', 'total_ms', 'prompt_tokens', 'completion_tokens', 'client'];
    for (const r of records) {
      assert.deepEqual(Object.keys(r), fields);
      assert.match(r.ts, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
      assert.equal(typeof r.total_ms, 'number');
      assert.equal(r.client, '-');
      if (r.ttfb_ms !== null) assert.ok(r.ttfb_ms <= r.total_ms + 0.001, JSON.stringify(r));
    }
    const traced = records.find((r) => r.request_id === 'trace-abc.123:x');
    assert.ok(traced, 'the echoed request id is in the log');
    assert.equal(traced.route, '/v1/chat/completions');
    assert.equal(traced.method, 'POST');
    assert.equal(traced.model, 'good');
    assert.equal(traced.key, 'good-a');
    assert.equal(traced.attempts, 1);
    assert.equal(traced.status, 200);
    assert.ok(traced.prompt_tokens > 0 && traced.completion_tokens > 0);
    const retried = records.filter((r) => r.model === 'flaky');
    assert.ok(retried.some((r) => r.attempts >= 2 && r.key === 'ok-b' && r.status === 200));
    const stream = records.find((r) => r.request_id === 'stream-1');
    assert.equal(stream.status, 200);
    assert.equal(stream.key, 'builtin-key');
    // A stream's request head is dropped once the stream starts; its start line is kept.
    assert.equal(stream.method, 'POST');
    assert.equal(stream.route, '/v1/chat/completions');
    assert.equal(stream.path, '/v1/chat/completions');
    const unknown = records.find((r) => r.path === '/nope');
    assert.equal(unknown.route, '-');
    assert.equal(unknown.status, 404);
    assert.equal(unknown.model, '-');
  });

  test('without admin.token the admin endpoints are off', async () => {
    const r = await get('/admin/config');
    assert.equal(r.status, 403);
    assert.equal(openAiError(r).code, 'admin_disabled');
  });
});

// ---------------------------------------------------------------------------------------

const SECRETS = {
  provider: 'sk-prov-SECRET-7e57c0de;tokens=4;latency=1',
  provider429: 'sk-prov-SECRET-429f00d;status=429;retry_after=1',
  provider500: 'sk-prov-SECRET-500bad;status=500',
  builtin: 'sk-builtin-SECRET-9a8b7c6d5e4f',
  clientA: 'cli-SECRET-aaaa-1111-2222-3333',
  clientB: 'cli-SECRET-bbbb-4444-5555-6666',
  clientC: 'cli-SECRET-cccc-7777-8888-9999',
  admin: 'adm-SECRET-0f1e2d3c4b5a',
};

describe('client keys, the admin token, and secrets', { timeout: 60000 }, () => {
  let mock;
  let gw;
  let logFile;
  const seen = [];  // every response: status, headers and body

  const record = (label, r) => {
    seen.push(`${label}\n${r.status}\n${[...r.headers].map(([k, v]) => `${k}: ${v}`).join('\n')}\n\n${r.text}`);
    return r;
  };
  const call = async (p, { key, method = 'GET', body, headers = {} } = {}) => {
    const h = { ...headers };
    if (key !== undefined) h.authorization = `Bearer ${key}`;
    return record(`${method} ${p}`, await request(`${gw.url}${p}`, { method, body, headers: h }));
  };
  const chat = (model, key, extra = {}) => call('/v1/chat/completions', { method: 'POST', key, body: { model, messages: userMessage(), ...extra } });

  let configFile;
  let configText;
  before(async () => {
    mock = await startMockllm();
    logFile = writeConfig('', 'access.log');
    configFile = writeConfig({
      ...gatewayConfig({
        alpha: openaiModel(mock, [SECRETS.provider, { key: SECRETS.provider500, weight: 1000000 }], { max_retries: 2 }),
        beta: mockModel({ keys: [SECRETS.builtin] }),
        limited: openaiModel(mock, [SECRETS.provider429], { max_retries: 0 }),
      }),
      admin: { token: SECRETS.admin, expose_keys: false },
      auth: {
        client_keys: [
          { name: 'team-a', key: SECRETS.clientA },
          { name: 'team-b', key: SECRETS.clientB, models: ['beta'] },
          { name: 'team-c', key: SECRETS.clientC, rpm: 2 },
        ],
      },
      log: { access: logFile },
    });
    configText = readFileSync(configFile, 'utf8');
    gw = await startGateway(configFile);
  });
  after(stopAll);

  test('a client without a key or with a wrong one gets an OpenAI-shaped 401', async () => {
    for (const [key, p] of [[undefined, '/v1/chat/completions'], [`${SECRETS.clientA}x`, '/v1/chat/completions'],
      ['', '/llm/chat'], [SECRETS.admin, '/v1/models'], [SECRETS.clientA.slice(0, -1), '/llm/system-load']]) {
      const r = p === '/v1/models' || p === '/llm/system-load'
        ? await call(p, { key })
        : await call(p, { method: 'POST', key, body: { model: 'alpha', messages: userMessage() } });
      assert.equal(r.status, 401, `${p} with ${key === undefined ? 'no key' : 'a wrong key'}: ${r.text}`);
      assert.equal(openAiError(r).code, 'invalid_api_key');
      assert.equal(r.headers.get('www-authenticate'), 'Bearer');
    }
    // Health stays open, and so does /metrics.
    for (const p of ['/health', '/llm/health', '/metrics']) assert.equal((await call(p)).status, 200, p);
  });

  test('the right client key passes, in the OpenAI SDK too', async () => {
    const r = await chat('alpha', SECRETS.clientA);
    assert.equal(r.status, 200, r.text);
    const client = new OpenAI({ apiKey: SECRETS.clientA, baseURL: `${gw.url}/v1`, maxRetries: 0 });
    const done = await client.chat.completions.create({ model: 'beta', messages: userMessage() });
    assert.equal(done.object, 'chat.completion');
    const wrong = new OpenAI({ apiKey: 'nope', baseURL: `${gw.url}/v1`, maxRetries: 0 });
    await assert.rejects(wrong.chat.completions.create({ model: 'beta', messages: userMessage() }),
      (e) => e instanceof OpenAI.AuthenticationError && e.status === 401);
  });

  test('a client asking for a model outside its list gets 403, and sees only its models', async () => {
    const refused = await chat('alpha', SECRETS.clientB);
    assert.equal(refused.status, 403, refused.text);
    assert.equal(openAiError(refused).code, 'model_not_allowed');
    const auto = await chat('auto', SECRETS.clientB);
    assert.equal(auto.status, 403, auto.text);
    const native = await call('/llm/chat', { method: 'POST', key: SECRETS.clientB, body: { messages: userMessage() } });
    assert.equal(native.status, 403, native.text);
    const allowed = await chat('beta', SECRETS.clientB);
    assert.equal(allowed.status, 200, allowed.text);
    const models = await call('/v1/models', { key: SECRETS.clientB });
    assert.deepEqual(models.json.data.map((m) => m.id), ['beta']);
    const all = await call('/v1/models', { key: SECRETS.clientA });
    assert.deepEqual(all.json.data.map((m) => m.id).sort(), ['alpha', 'beta', 'limited']);
  });

  test('a client past its rpm gets 429 with Retry-After', async () => {
    assert.equal((await chat('beta', SECRETS.clientC)).status, 200);
    assert.equal((await chat('beta', SECRETS.clientC)).status, 200);
    const r = await chat('beta', SECRETS.clientC);
    assert.equal(r.status, 429, r.text);
    assert.equal(openAiError(r).code, 'client_rate_limited');
    assert.ok(Number(r.headers.get('retry-after')) >= 1);
    // Other clients are not affected.
    assert.equal((await chat('beta', SECRETS.clientA)).status, 200);
  });

  test('the admin endpoints refuse without the token and mask every secret with it', async () => {
    for (const key of [undefined, SECRETS.clientA, `${SECRETS.admin}0`]) {
      const r = await call('/admin/config', { key });
      assert.equal(r.status, 401, r.text);
      assert.equal(openAiError(r).code, 'invalid_admin_token');
    }
    const unknown = await call('/admin/nothing-here');
    assert.equal(unknown.status, 401, 'unknown admin paths are guarded too');
    const r = await call('/admin/config', { key: SECRETS.admin });
    assert.equal(r.status, 200, r.text);
    assert.deepEqual(r.json.auth.client_keys.map((c) => c.name), ['team-a', 'team-b', 'team-c']);
    assert.deepEqual(r.json.auth.client_keys[1].models, ['beta']);
    assert.equal(r.json.models.alpha.api_keys.length, 2);
    assert.match(r.json.admin.token, /…/);
  });

  test('more traffic: failures, retries, streams', async () => {
    assert.ok((await chat('limited', SECRETS.clientA)).status >= 400);
    assert.ok((await chat('limited', SECRETS.clientA, { stream: true })).status >= 400);
    for (let i = 0; i < 3; i++) assert.equal((await chat('alpha', SECRETS.clientA)).status, 200);
    const res = await fetch(`${gw.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${SECRETS.clientA}` },
      body: JSON.stringify({ model: 'alpha', messages: userMessage(), stream: true }),
    });
    const s = await readOpenAiStream(res);
    assert.ok(s.done);
    record('stream', { status: res.status, headers: res.headers, text: s.events.map((e) => e.data).join('\n') });
    assert.equal((await call('/llm/chat', { method: 'POST', key: SECRETS.clientA, body: { messages: userMessage() } })).status, 200);
  });

  test('reloads, valid and invalid, by POST and SIGHUP', async () => {
    assert.equal((await call('/admin/reload', { method: 'POST', key: SECRETS.admin })).status, 200);
    // A broken edit right next to the secrets: refused, and its error shows none of them.
    writeFileSync(configFile, configText.replace('max_retries: 2', 'max_retries: 2\n    wieght: 3'));
    const refused = await call('/admin/reload', { method: 'POST', key: SECRETS.admin });
    assert.equal(refused.status, 400, refused.text);
    assert.match(openAiError(refused).message, /wieght/);
    gw.kill('SIGHUP');
    await waitFor(() => gw.stderr.includes('SIGHUP: the new config was refused'), { what: 'the refused SIGHUP reload' });
    writeFileSync(configFile, configText);
    gw.kill('SIGHUP');
    await waitFor(() => gw.stderr.includes('SIGHUP: reloaded'), { what: 'the SIGHUP reload' });
    assert.equal((await chat('alpha', SECRETS.clientA)).status, 200);
  });

  test('the access log names the client, never its key', async () => {
    const lines = await waitFor(() => {
      const l = readLines(logFile);
      return l.length >= seen.length - 2 ? l : null;  // the SDK's two calls are not in `seen`
    }, { timeoutMs: 3000, what: 'access log lines' });
    const records = lines.map((l) => JSON.parse(l));
    assert.ok(records.some((r) => r.client === 'team-a' && r.status === 200));
    assert.ok(records.some((r) => r.client === 'team-b' && r.status === 403));
    assert.ok(records.some((r) => r.client === 'team-c' && r.status === 429));
    assert.ok(records.some((r) => r.client === '-' && r.status === 401));
  });

  test('no configured secret appears in any response, log or metric', { timeout: 30000 }, async () => {
    const metrics = await call('/metrics');
    parseExposition(metrics.text);
    assert.ok(seen.length >= 30, `the scenario did not run (${seen.length} responses)`);
    const info = await gw.stop();
    assert.equal(info.code, 0, gw.output());
    const sources = [
      ['stdout', gw.stdout],
      ['stderr', gw.stderr],
      ['access log', readFileSync(logFile, 'utf8')],
      ...seen.map((s, i) => [`response ${i}: ${s.split('\n')[0]}`, s]),
    ];
    assert.ok(readLines(logFile).length >= 30, 'the access log is nearly empty: the check would be vacuous');
    for (const [name, secret] of Object.entries(SECRETS)) {
      for (const [where, text] of sources) {
        assert.ok(!text.includes(secret), `${name} secret found in ${where}`);
      }
    }
  });
});
