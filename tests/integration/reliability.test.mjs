// Reliability against mockllm faults, judged by the mock's own counts: the per-key circuit
// breaker (opens after repeated faults, lets one half-open trial through, closes or opens
// again), the request's total deadline (retries cannot stack timeouts), and the retry
// budgets (other keys of a model, then other models).
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import {
  gatewayConfig, mockReset, mockStats, openAiError, openaiModel, postJson, request, zhipuModel,
  startGateway, startMockllm, stopAll, userMessage, waitFor,
} from './harness.mjs';

const MESSAGES = userMessage('hello there');

async function keyReport(gw, model, id) {
  const r = await request(`${gw.url}/llm/system-capacity`);
  assert.equal(r.status, 200, r.text);
  const key = r.json.details?.[model]?.keys.find((k) => k.key === id);
  assert.ok(key, `no key ${id} of ${model} in ${r.text}`);
  return key;
}

const requestsOf = async (mock, name) => (await mockStats(mock)).keys[name]?.requests ?? 0;
const chat = (gw, model) => postJson(`${gw.url}/v1/chat/completions`, { model, messages: MESSAGES });

describe('circuit breaker', { timeout: 60000 }, () => {
  let mock;
  let gw;
  before(async () => {
    mock = await startMockllm();
    const breaker = { failures: 3, window_ms: 10000, open_ms: 1500 };
    // `flap` fails its first 4 requests with 500, then answers; it is picked first almost
    // always (weight 1000:1), so after each of its faults `steady` serves the request.
    gw = await startGateway(gatewayConfig({
      flappy: openaiModel(mock, [
        { key: 'flap;fail_first=4;status=500;latency=150', name: 'flap', weight: 1000 },
        { key: 'steady', name: 'steady', weight: 1 },
      ], { max_retries: 1, breaker }),
      // The same faults with the breaker off: the key keeps getting traffic.
      unguarded: openaiModel(mock, [
        { key: 'always-bad;status=500', name: 'always-bad', weight: 1000 },
        { key: 'fine', name: 'fine', weight: 1 },
      ], { max_retries: 1, breaker: { failures: 0 } }),
    }));
  });
  after(stopAll);

  test('a flapping key opens after 3 faults, fails its trial, then a trial closes it', async () => {
    // Three faults: every request still succeeds, served by the steady key.
    for (let i = 0; i < 20 && await requestsOf(mock, 'flap') < 3; i++) {
      const r = await chat(gw, 'flappy');
      assert.equal(r.status, 200, r.text);
    }
    assert.equal(await requestsOf(mock, 'flap'), 3);
    let key = await keyReport(gw, 'flappy', 'flap');
    assert.equal(key.state, 'open');
    assert.ok(key.remaining_ms > 0 && key.remaining_ms <= 1500, JSON.stringify(key));
    assert.match(key.until, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
    assert.equal(key.effective_weight, 0);

    // Open: no traffic at all reaches it.
    for (let i = 0; i < 10; i++) assert.equal((await chat(gw, 'flappy')).status, 200);
    assert.equal(await requestsOf(mock, 'flap'), 3, 'an open key got traffic');

    // Half-open: of five concurrent requests exactly one is the trial (its 4th fault).
    await waitFor(async () => (await keyReport(gw, 'flappy', 'flap')).state === 'half_open',
      { timeoutMs: 3000, what: 'half_open' });
    const burst = await Promise.all(Array.from({ length: 5 }, () => chat(gw, 'flappy')));
    for (const r of burst) assert.equal(r.status, 200, r.text);
    assert.equal(await requestsOf(mock, 'flap'), 4, 'more than one trial went through');
    key = await keyReport(gw, 'flappy', 'flap');
    assert.equal(key.state, 'open', 'a failed trial must open the breaker again');

    // The next trial succeeds (the mock's faults are over): closed, traffic flows again.
    await waitFor(async () => (await keyReport(gw, 'flappy', 'flap')).state === 'half_open',
      { timeoutMs: 3000, what: 'half_open again' });
    for (let i = 0; i < 10 && await requestsOf(mock, 'flap') < 5; i++) {
      assert.equal((await chat(gw, 'flappy')).status, 200);
    }
    assert.equal(await requestsOf(mock, 'flap'), 5);
    assert.equal((await keyReport(gw, 'flappy', 'flap')).state, 'ok');
    const before = await requestsOf(mock, 'flap');
    for (let i = 0; i < 5; i++) {
      const r = await chat(gw, 'flappy');
      assert.equal(r.status, 200, r.text);
    }
    assert.ok(await requestsOf(mock, 'flap') > before, 'a closed breaker lets traffic through');
    assert.equal((await mockStats(mock)).keys.flap.max_in_flight, 1);
  });

  test('with failures: 0 the breaker never opens', async () => {
    for (let i = 0; i < 8; i++) assert.equal((await chat(gw, 'unguarded')).status, 200);
    assert.ok(await requestsOf(mock, 'always-bad') >= 6);
    assert.equal((await keyReport(gw, 'unguarded', 'always-bad')).state, 'ok');
  });
});

describe('total deadline and retry budgets', { timeout: 60000 }, () => {
  let mock;
  let gw;
  before(async () => {
    mock = await startMockllm();
    gw = await startGateway(gatewayConfig({
      // Each attempt would time out at 400 ms; two would stack to 800 ms. The deadline is 600.
      slow: openaiModel(mock, [
        { key: 'slow-a;latency=3000', name: 'slow-a' },
        { key: 'slow-b;latency=3000', name: 'slow-b' },
      ], { max_retries: 1, first_byte_timeout_ms: 400, total_timeout_ms: 600 }),
      // A stream that outlives its deadline ends with an error event.
      long: openaiModel(mock, [{ key: 'long;tokens=40;gap=50', name: 'long' }],
        { max_retries: 0, total_timeout_ms: 700 }),
      // Three keys, all failing; max_retries 1 allows two of them.
      three: openaiModel(mock, [
        { key: 'b3-a;status=500', name: 'b3-a' },
        { key: 'b3-b;status=500', name: 'b3-b' },
        { key: 'b3-c;status=500', name: 'b3-c' },
      ], { max_retries: 1 }),
    }));
  });
  after(stopAll);

  test('retries cannot stack timeouts: the request ends at its deadline with 504', async () => {
    const t0 = Date.now();
    const r = await chat(gw, 'slow');
    const took = Date.now() - t0;
    assert.equal(r.status, 504, r.text);
    const e = openAiError(r);
    assert.equal(e.code, 'deadline_exceeded');
    assert.match(e.message, /600 ms/);
    assert.ok(took >= 550 && took < 1000, `took ${took} ms`);
    // The attempt the deadline cut short does not count against its key.
    for (const id of ['slow-a', 'slow-b']) assert.equal((await keyReport(gw, 'slow', id)).state, 'ok');
  });

  test('a stream that outlives its deadline ends with an error event, not a clean end', async () => {
    const res = await fetch(`${gw.url}/v1/chat/completions`, {
      method: 'POST', headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'long', stream: true, messages: MESSAGES }),
    });
    assert.equal(res.status, 200);
    const text = await res.text();
    assert.match(text, /"code":"deadline_exceeded"/);
    assert.ok(text.trimEnd().endsWith('data: [DONE]'), text.slice(-200));
  });

  test('max_retries bounds the keys tried within a model', async () => {
    await mockReset(mock);
    const r = await chat(gw, 'three');
    assert.equal(r.status, 502, r.text);
    const keys = (await mockStats(mock)).keys;
    const tried = ['b3-a', 'b3-b', 'b3-c'].map((k) => keys[k]?.requests ?? 0);
    assert.deepEqual(tried.slice().sort(), [0, 1, 1], JSON.stringify(keys));
  });

  test('retry.max_model_failovers bounds the models a request for any model moves on to', async () => {
    // Three models, every key failing; one failover allowed.
    const failing = (name) => openaiModel(mock, [{ key: `${name};status=503`, name }], { max_retries: 0 });
    const any = await startGateway({
      ...gatewayConfig({ m1: failing('mf-1'), m2: failing('mf-2'), m3: failing('mf-3') }),
      retry: { max_model_failovers: 1 },
    });
    await mockReset(mock);
    const r = await postJson(`${any.url}/v1/chat/completions`, { messages: MESSAGES });
    assert.ok(r.status >= 500, r.text);
    const keys = (await mockStats(mock)).keys;
    const tried = ['mf-1', 'mf-2', 'mf-3'].map((k) => keys[k]?.requests ?? 0);
    assert.deepEqual(tried.slice().sort(), [0, 1, 1], JSON.stringify(keys));
  });
});

describe('concurrency errors', { timeout: 30000 }, () => {
  let mock;
  let gw;
  before(async () => {
    mock = await startMockllm();
    // Zhipu's 1302: too many requests in flight on the key. Its first request gets it.
    gw = await startGateway(gatewayConfig({
      glm: zhipuModel(mock, [{ key: 'cc-a;fail_first=1;status=429;code=1302', name: 'cc-a' },
        { key: 'cc-b', name: 'cc-b' }], { max_concurrency: 3, max_retries: 1 }),
    }));
  });
  after(stopAll);

  test("lower the key's concurrency by one until a request on it succeeds", async () => {
    for (let i = 0; i < 10 && ((await mockStats(mock)).keys['cc-a']?.requests ?? 0) === 0; i++) {
      assert.equal((await chat(gw, 'glm')).status, 200);
    }
    let key = await keyReport(gw, 'glm', 'cc-a');
    assert.equal(key.max, 2, JSON.stringify(key));
    assert.equal(key.state, 'cooling');
    // Once its short cooldown is over, a success restores the configured limit.
    await waitFor(async () => (await keyReport(gw, 'glm', 'cc-a')).state === 'ok', { timeoutMs: 4000, what: 'cooldown end' });
    const before = (await mockStats(mock)).keys['cc-a'].requests;
    for (let i = 0; i < 20 && (await mockStats(mock)).keys['cc-a'].requests === before; i++) {
      assert.equal((await chat(gw, 'glm')).status, 200);
    }
    key = await keyReport(gw, 'glm', 'cc-a');
    assert.equal(key.max, 3, JSON.stringify(key));
  });
});

describe('rate-limited keys', { timeout: 30000 }, () => {
  let mock;
  let gw;
  before(async () => {
    mock = await startMockllm();
    // `rl-hot` answers its first request with 429 and Retry-After: 1, then serves; it is
    // picked first almost always.
    gw = await startGateway(gatewayConfig({
      hot: openaiModel(mock, [{ key: 'rl-hot;fail_first=1;status=429;retry_after=1', name: 'rl-hot', weight: 1000 },
        { key: 'rl-cool', name: 'rl-cool', weight: 1 }], { max_retries: 1 }),
    }));
  });
  after(stopAll);

  test('a 429 key gets no traffic until its Retry-After has passed, then gets traffic again', async () => {
    const hot = async () => (await mockStats(mock)).keys['rl-hot']?.requests ?? 0;
    for (let i = 0; i < 10 && await hot() === 0; i++) assert.equal((await chat(gw, 'hot')).status, 200);
    const limitedAt = Date.now();
    assert.equal(await hot(), 1);
    while (Date.now() - limitedAt < 800) {
      assert.equal((await chat(gw, 'hot')).status, 200);
      assert.equal(await hot(), 1, 'the cooling key got traffic');
    }
    await waitFor(async () => (await keyReport(gw, 'hot', 'rl-hot')).state === 'ok', { timeoutMs: 2000, what: 'cooldown end' });
    for (let i = 0; i < 10 && await hot() === 1; i++) assert.equal((await chat(gw, 'hot')).status, 200);
    assert.ok(await hot() >= 2, 'the key got no traffic after its Retry-After');
    assert.ok(Date.now() - limitedAt >= 950);
  });
});
