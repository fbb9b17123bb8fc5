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
    assert.ok(Date.now() - t0 < 2000, `the next request took ${Date.now() - t0} ms`);
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
