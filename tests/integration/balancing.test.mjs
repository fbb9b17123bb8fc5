// Issue 3, seen from outside: under overload no key is ever pushed past its limits (judged by
// mockllm's own counts), queued requests are served as capacity frees or get 429 after the
// queue timeout, traffic follows the weights, and the seed's load and capacity endpoints agree
// with what the upstream sees.
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';

import {
  gatewayConfig, mockReset, mockStats, openaiModel, postJson, request, sleep, startGateway,
  startMockllm, stopAll, userMessage, waitFor, openAiError,
} from './harness.mjs';

const chat = (gw, model, extra = {}) =>
  postJson(`${gw.url}/v1/chat/completions`, { model, messages: userMessage(), ...extra },
    { timeoutMs: 30000 });

// The most request starts in any sliding window of `windowMs` (starts sorted ascending).
function maxInWindow(starts, windowMs) {
  let best = 0;
  let lo = 0;
  for (let hi = 0; hi < starts.length; hi++) {
    while (starts[hi] - starts[lo] >= windowMs) lo++;
    best = Math.max(best, hi - lo + 1);
  }
  return best;
}

describe('balancing under load', { timeout: 120000 }, () => {
  let mock;
  let gw;
  before(async () => {
    mock = await startMockllm();
    gw = await startGateway({
      ...gatewayConfig({
        // 3 keys x max_concurrency 2 = 6 slots.
        pooled: openaiModel(mock, [1, 2, 3].map((i) => ({ key: `bl-c${i};latency=150`, name: `c${i}` })),
          { max_concurrency: 2 }),
        // 2 keys x 4 per second.
        paced: openaiModel(mock, [{ key: 'bl-q1', name: 'q1' }, { key: 'bl-q2', name: 'q2' }],
          { strategy: 'qps', max_qps: 4 }),
        // One slot held long, and a queue that gives up fast.
        narrow: openaiModel(mock, ['bl-n1;latency=1500'], { max_concurrency: 1, queue_timeout_ms: 300 }),
        weighted: openaiModel(mock, [{ key: 'bl-w3', weight: 3, name: 'w3' }, { key: 'bl-w2', weight: 2, name: 'w2' }]),
      }),
      queue: { timeout_ms: 20000 },
    });
  });
  after(stopAll);

  test('10x more concurrent clients than capacity: all served, no key past max_concurrency', async () => {
    await mockReset(mock);
    const results = await Promise.all(Array.from({ length: 60 }, () => chat(gw, 'pooled')));
    for (const r of results) assert.equal(r.status, 200, r.text);
    const keys = (await mockStats(mock)).keys;
    let total = 0;
    for (const name of ['bl-c1', 'bl-c2', 'bl-c3']) {
      assert.ok(keys[name], `key ${name} got no traffic`);
      assert.ok(keys[name].max_in_flight <= 2, `${name} had ${keys[name].max_in_flight} in flight`);
      total += keys[name].requests;
    }
    assert.equal(total, 60);
  });

  test('no one-second window starts more than max_qps on a key', async () => {
    await mockReset(mock);
    const t0 = Date.now();
    const results = await Promise.all(Array.from({ length: 24 }, () => chat(gw, 'paced')));
    for (const r of results) assert.equal(r.status, 200, r.text);
    const keys = (await mockStats(mock)).keys;
    for (const name of ['bl-q1', 'bl-q2']) {
      const starts = [...keys[name].starts_ms].sort((a, b) => a - b);
      // The gateway limits starts when it admits them; the mock stamps them when they arrive,
      // after a connect and a write that take tens of ms on a loaded 2-core machine. A 900 ms
      // window leaves that jitter out and still catches a burst at a window edge (which
      // would put 2 x max_qps into one window).
      assert.ok(maxInWindow(starts, 900) <= 4,
        `${name}: ${maxInWindow(starts, 900)} starts in 900 ms: ${starts.join(',')}`);
    }
    // 24 requests at 8 per second cannot finish much faster than 2 s.
    assert.ok(Date.now() - t0 >= 1900, `24 requests at 8/s took only ${Date.now() - t0} ms`);
  });

  test('past queue_timeout a queued request gets 429 with Retry-After and an OpenAI error', async () => {
    const first = chat(gw, 'narrow');
    await sleep(100);
    const t0 = Date.now();
    const queued = await chat(gw, 'narrow');
    const waited = Date.now() - t0;
    assert.equal(queued.status, 429, queued.text);
    assert.equal(openAiError(queued).code, 'capacity_exhausted');
    assert.ok(Number(queued.headers.get('retry-after')) >= 1);
    assert.ok(waited >= 250 && waited < 1200, `gave up after ${waited} ms, queue_timeout is 300`);
    assert.equal((await first).status, 200);
  });

  test('a client that leaves while queued leaves the queue', async () => {
    const holder = chat(gw, 'narrow');
    await sleep(100);
    const ctl = new AbortController();
    const queued = fetch(`${gw.url}/v1/chat/completions`, {
      method: 'POST', signal: ctl.signal, headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'narrow', messages: userMessage() }),
    }).catch((e) => e);
    await waitFor(async () => (await request(`${gw.url}/llm/system-capacity`)).json.queued === 1,
      { what: 'the request to be queued' });
    ctl.abort();
    await queued;
    await waitFor(async () => (await request(`${gw.url}/llm/system-capacity`)).json.queued === 0,
      { what: 'the queue to empty' });
    assert.equal((await holder).status, 200);
  });

  test('unsaturated traffic follows key weights 3:2', async () => {
    await mockReset(mock);
    for (let i = 0; i < 200; i++) {
      const r = await chat(gw, 'weighted');
      assert.equal(r.status, 200, r.text);
    }
    const keys = (await mockStats(mock)).keys;
    const share = keys['bl-w3'].requests / 200;
    assert.ok(Math.abs(share - 0.6) <= 0.05, `weight-3 key got ${(share * 100).toFixed(1)}%`);
  });

  test('the capacity endpoints agree with what the upstream sees under load', async () => {
    await mockReset(mock);
    const load = Array.from({ length: 6 }, () => chat(gw, 'pooled'));
    await waitFor(async () => (await mockStats(mock)).keys['bl-c1']?.in_flight === 2,
      { what: 'load to reach the mock' });
    const [cap, sysload, stats] = await Promise.all([
      request(`${gw.url}/llm/system-capacity`), request(`${gw.url}/llm/system-load`), mockStats(mock),
    ]);
    const pooled = cap.json.details.pooled;
    assert.equal(pooled.type, 'concurrency');
    assert.equal(pooled.max, 6);
    const seen = ['bl-c1', 'bl-c2', 'bl-c3'].reduce((n, k) => n + (stats.keys[k]?.in_flight ?? 0), 0);
    assert.equal(pooled.current, seen, JSON.stringify(pooled));
    assert.equal(pooled.keys.length, 3);
    for (const k of pooled.keys) {
      assert.equal(k.max, 2);
      assert.equal(k.current, 2);
      assert.equal(k.state, 'ok');
      // Public ids only: the masked key, never the secret.
      assert.ok(!k.key.includes('bl-c'), `capacity shows a raw key: ${k.key}`);
    }
    assert.equal(typeof sysload.json.load_percent, 'number');
    assert.ok(sysload.json.load_percent > 0);
    const one = await request(`${gw.url}/llm/key-load/pooled/${encodeURIComponent(pooled.keys[0].key)}`);
    assert.equal(one.status, 200, one.text);
    assert.equal(one.json.key, pooled.keys[0].key);
    for (const r of await Promise.all(load)) assert.equal(r.status, 200);
    const unknown = await request(`${gw.url}/llm/key-load/pooled/nope`);
    assert.equal(unknown.status, 404);
    openAiError(unknown);
    // The raw key in place of its id only with admin.expose_keys (below).
    const raw = await request(`${gw.url}/llm/key-load/pooled/${encodeURIComponent('bl-c1;latency=150')}`);
    assert.equal(raw.status, 404, raw.text);
  });

  test('key-exposing endpoints are 404 unless admin.expose_keys', async () => {
    for (const path of ['/llm/models', '/llm/keys/pooled', '/llm/model-load/pooled']) {
      const r = await request(`${gw.url}${path}`);
      assert.equal(r.status, 404, `${path}: ${r.text}`);
      openAiError(r);
      assert.ok(!r.text.includes('bl-c1'));
    }
  });
});

describe('key-exposing endpoints when enabled', { timeout: 30000 }, () => {
  let gw;
  before(async () => {
    const mock = await startMockllm();
    gw = await startGateway({
      ...gatewayConfig({ exposed: openaiModel(mock, [{ key: 'sk-exposed-secret-0001', name: 'first' }]) }),
      admin: { expose_keys: true, token: 'admin-token-for-tests' },
    });
  });
  after(stopAll);

  test('require the admin token, then show the keys', async () => {
    for (const path of ['/llm/models', '/llm/keys/exposed', '/llm/model-load/exposed']) {
      const denied = await request(`${gw.url}${path}`);
      assert.equal(denied.status, 401, `${path}: ${denied.text}`);
      assert.ok(!denied.text.includes('sk-exposed-secret'));
      const wrong = await request(`${gw.url}${path}`, { headers: { authorization: 'Bearer nope' } });
      assert.equal(wrong.status, 401);
      const ok = await request(`${gw.url}${path}`,
        { headers: { authorization: 'Bearer admin-token-for-tests' } });
      assert.equal(ok.status, 200, `${path}: ${ok.text}`);
      if (path === '/llm/models') {
        assert.deepEqual(ok.json, ['exposed']);  // the seed's shape: the models' names
        continue;
      }
      assert.ok(ok.text.includes('sk-exposed-secret-0001'), `${path} does not show the key`);
    }
    // The capacity report still shows only the public id.
    const cap = await request(`${gw.url}/llm/system-capacity`);
    assert.equal(cap.json.details.exposed.keys[0].key, 'first');
    assert.ok(!cap.text.includes('sk-exposed-secret'));
  });

  test('/llm/key-load takes the raw key as well as its id (the seed\'s form)', async () => {
    const r = await request(`${gw.url}/llm/key-load/exposed/${encodeURIComponent('sk-exposed-secret-0001')}`);
    assert.equal(r.status, 200, r.text);
    assert.equal(r.json.key, 'first');  // answered with its public id, as by id
    assert.equal(r.json.model, 'exposed');
    assert.ok(!r.text.includes('sk-exposed-secret'));
    const byId = await request(`${gw.url}/llm/key-load/exposed/first`);
    assert.equal(byId.status, 200, byId.text);
    assert.equal((await request(`${gw.url}/llm/key-load/exposed/sk-exposed-secret-0002`)).status, 404);
  });
});
