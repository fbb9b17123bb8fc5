// Real traffic's reliability cases (issue 19):
// - clients that hang up are never their key's fault: after an abort storm every key is `ok`,
//   nothing is left in flight, and the next request is served at once;
// - a model with a single key retries a transient failure on that key (after a short
//   backoff), and never repeats a request after content reached the client;
// - /llm/chat/stream ends with the error marker when the upstream fails after content.
import { test, describe, after } from 'node:test';
import assert from 'node:assert/strict';

import {
  startMockllm, startGateway, stopAll, gatewayConfig, openaiModel, postJson, request,
  userMessage, mockStats, waitFor, readOpenAiStream,
} from './harness.mjs';

after(stopAll);

async function capacity(gw) {
  const r = await request(`${gw.url}/llm/system-capacity`);
  assert.equal(r.status, 200, r.text);
  return r.json;
}

describe('client hang-ups are never the key\'s fault', { timeout: 90000 }, () => {
  test('an abort storm: 200 clients hang up while queued, before the first byte and mid-stream', async () => {
    const mock = await startMockllm();
    // Two keys of two slots each: most of the 200 clients queue. Answers take ~150 ms to the
    // first byte and stream 20 pieces 15 ms apart.
    const keys = [
      { key: 'k1;latency=150;gap=15;tokens=20', weight: 1, name: 'k1' },
      { key: 'k2;latency=150;gap=15;tokens=20', weight: 1, name: 'k2' },
    ];
    const gw = await startGateway(gatewayConfig(
      { m: openaiModel(mock, keys, { max_concurrency: 2, breaker: { failures: 3, window_ms: 10000, open_ms: 30000 } }) },
      { server: {} },
    ));
    const url = `${gw.url}/v1/chat/completions`;
    const outcomes = { aborted: 0, completed: 0, other: 0 };
    const client = async (i) => {
      const controller = new AbortController();
      const stream = i % 2 === 0;
      // Hang up somewhere in the first 1.5 s: in the queue, waiting for the first byte, or
      // mid-stream.
      setTimeout(() => controller.abort(), Math.floor(Math.random() * 1500));
      try {
        const res = await fetch(url, {
          method: 'POST', signal: controller.signal, headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ model: 'm', stream, messages: userMessage(`storm ${i}`) }),
        });
        await res.text();
        outcomes.completed += 1;
      } catch (e) {
        if (e.name === 'AbortError') outcomes.aborted += 1; else outcomes.other += 1;
      }
    };
    await Promise.all(Array.from({ length: 200 }, (_, i) => client(i)));
    assert.ok(outcomes.aborted > 100, `only ${outcomes.aborted} clients hung up: ${JSON.stringify(outcomes)}`);
    assert.equal(outcomes.other, 0, JSON.stringify(outcomes));

    // The gateway notices each hang-up within its client watch (50 ms) and frees the slot.
    await waitFor(async () => {
      const c = await capacity(gw);
      return c.details.m.keys.every((k) => k.in_flight === 0);
    }, { timeoutMs: 5000, what: 'nothing in flight after the storm' });
    const c = await capacity(gw);
    for (const k of c.details.m.keys) assert.equal(k.state, 'ok', `key ${k.key} is ${k.state} after hang-ups: ${JSON.stringify(k)}`);
    const t0 = Date.now();
    const next = await postJson(url, { model: 'm', messages: userMessage('after the storm') });
    assert.equal(next.status, 200, next.text);
    assert.ok(Date.now() - t0 < 5000, `the next request took ${Date.now() - t0} ms`);
  });
});

describe('a single-key model retries a transient failure on its one key', { timeout: 90000 }, () => {
  test('an upstream that fails every other call: 100 sequential requests, 100 succeed', async () => {
    const mock = await startMockllm();
    const gw = await startGateway(gatewayConfig({
      one: openaiModel(mock, ['solo;fail_every=2;latency=1'], { max_retries: 2 }),
    }));
    for (let i = 0; i < 100; i++) {
      const stream = i % 4 === 3;
      const body = { model: 'one', stream, messages: userMessage(`n${i}`) };
      if (stream) {
        const res = await fetch(`${gw.url}/v1/chat/completions`, {
          method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body),
        });
        assert.equal(res.status, 200);
        const { content, chunks, done } = await readOpenAiStream(res);
        const error = chunks.find((c) => c.error)?.error;
        assert.ok(done, `stream ${i} has no [DONE]`);
        assert.equal(error, undefined, `stream ${i} failed: ${JSON.stringify(error)}`);
        assert.match(content, /Hello/);
      } else {
        const res = await postJson(`${gw.url}/v1/chat/completions`, body);
        assert.equal(res.status, 200, `request ${i}: ${res.text}`);
      }
    }
    const stats = (await mockStats(mock)).keys.solo;
    // Calls alternate fail, ok, fail, ok ...: each request's first call failed and its one
    // retry on the same key succeeded.
    assert.equal(stats.requests, 200, JSON.stringify(stats));
  });

  test('no request is repeated once content reached the client', async () => {
    const mock = await startMockllm();
    const gw = await startGateway(gatewayConfig({
      // The breaker off: ten faults in a row would rightly open it.
      one: openaiModel(mock, ['cut;error_in_stream;latency=1'], { max_retries: 2, breaker: { failures: 0 } }),
    }));
    for (let i = 0; i < 10; i++) {
      const res = await fetch(`${gw.url}/v1/chat/completions`, {
        method: 'POST', headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ model: 'one', stream: true, messages: userMessage('x') }),
      });
      const { content, chunks } = await readOpenAiStream(res);
      const error = chunks.find((c) => c.error)?.error;
      assert.ok(content.length > 0, 'content reached the client first');
      assert.ok(error, 'the stream ends with the error');
    }
    assert.equal((await mockStats(mock)).keys.cut.requests, 10, 'a request was sent again after content reached the client');
  });

  test('/llm/chat/stream: a failure after content ends the text with the error marker', async () => {
    const mock = await startMockllm();
    const gw = await startGateway(gatewayConfig({
      one: openaiModel(mock, ['cut;error_in_stream;latency=1'], { max_retries: 2 }),
    }));
    const res = await fetch(`${gw.url}/llm/chat/stream`, {
      method: 'POST', headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ messages: userMessage('x') }),
    });
    assert.equal(res.status, 200);
    const text = await res.text();
    assert.match(text, /^Hello/);
    assert.match(text, /\n\[ERROR\] [^\n]+\n$/);
    assert.equal((await mockStats(mock)).keys.cut.requests, 1);
  });

  test('a transient failure is not retried on the same key past the deadline', async () => {
    const mock = await startMockllm();
    const gw = await startGateway(gatewayConfig({
      one: openaiModel(mock, ['down;status=503;latency=1'], { max_retries: 5, total_timeout_ms: 1500 }),
    }, { upstream: {} }));
    const t0 = Date.now();
    const res = await postJson(`${gw.url}/v1/chat/completions`, { model: 'one', messages: userMessage() });
    const took = Date.now() - t0;
    assert.ok([502, 503, 504].includes(res.status), res.text);
    assert.ok(took < 3000, `answered after ${took} ms`);
    const tried = (await mockStats(mock)).keys.down.requests;
    // 1 + max_retries at most; backoffs of 100, 200, 400, 800 ms (each with jitter) mean the
    // deadline usually cuts the series short.
    assert.ok(tried >= 2 && tried <= 6, `${tried} attempts`);
  });
});

describe('admission is fair across clients', { timeout: 90000 }, () => {
  test('client A sends 300 at once and B 10: B all finish before A\'s 40th; never more than 4 in flight; A\'s excess gets 429', async () => {
    const mock = await startMockllm();
    const config = gatewayConfig({
      m: openaiModel(mock, [{ key: 'fair;latency=40', weight: 1, name: 'fair' }], { max_concurrency: 4 }),
    });
    config.queue = { timeout_ms: 60000 };
    config.auth = {
      client_keys: [
        { name: 'alice', key: 'client-key-alice-000000001', max_queued: 100 },
        { name: 'bob', key: 'client-key-bob-00000000001' },
      ],
    };
    const gw = await startGateway(config);
    const url = `${gw.url}/v1/chat/completions`;
    let order = 0;
    const send = async (key, who, i) => {
      const res = await postJson(url, { model: 'm', messages: userMessage(`${who} ${i}`) },
        { headers: { authorization: `Bearer ${key}` }, timeoutMs: 60000 });
      return { who, i, status: res.status, code: res.json?.error?.code, at: ++order };
    };
    const a = Array.from({ length: 300 }, (_, i) => send('client-key-alice-000000001', 'A', i));
    // B arrives right behind A's burst, when A already fills the queue.
    await new Promise((r) => setTimeout(r, 20));
    const b = Array.from({ length: 10 }, (_, i) => send('client-key-bob-00000000001', 'B', i));
    const results = await Promise.all([...a, ...b]);
    const aOk = results.filter((r) => r.who === 'A' && r.status === 200).sort((x, y) => x.at - y.at);
    const aRefused = results.filter((r) => r.who === 'A' && r.status === 429);
    const bOk = results.filter((r) => r.who === 'B' && r.status === 200);
    assert.equal(bOk.length, 10, JSON.stringify(results.filter((r) => r.who === 'B')));
    // 4 run, 100 wait: the rest of A's burst is refused at once, for A only.
    assert.ok(aRefused.length >= 150, `${aRefused.length} of A refused`);
    assert.ok(aRefused.every((r) => r.code === 'client_queue_full'), JSON.stringify(aRefused[0]));
    assert.equal(aOk.length + aRefused.length, 300);
    const lastB = Math.max(...bOk.map((r) => r.at));
    const a40 = aOk[39].at;
    assert.ok(lastB < a40, `B's last answer came ${lastB}th, A's 40th ${a40}th`);
    assert.ok((await mockStats(mock)).keys.fair.max_in_flight <= 4, 'more than 4 in flight at the upstream');
  });
});
