// The reliability promise under load, judged by mockllm's own counts: with 30% of the keys
// failing in every way an upstream fails, every request still succeeds and no request is ever
// sent twice to the same key; with every key failing, each request fails fast with a clear
// error and the gateway serves again as soon as the upstream recovers; slowloris clients that
// trickle their headers do not keep 1,000 normal clients from being served.
import assert from 'node:assert/strict';
import net from 'node:net';
import { after, before, describe, test } from 'node:test';
import {
  gatewayConfig, mockReset, mockStats, openAiError, openaiModel, postJson, sleep, startGateway,
  startMockllm, stopAll,
} from './harness.mjs';

// Runs `total` calls of `one(i)` with at most `width` at a time.
async function pooled(total, width, one) {
  let next = 0;
  const worker = async () => {
    while (next < total) await one(next++);
  };
  await Promise.all(Array.from({ length: width }, worker));
}

// 20 keys, 6 of them failing (30%): good keys are named `<prefix>-g<i>`.
function keys(prefix, faults) {
  const list = faults.map((f, i) => ({ key: `${prefix}-f${i};${f}`, name: `${prefix}-f${i}` }));
  for (let i = list.length; i < 20; i++) list.push({ key: `${prefix}-g${i}`, name: `${prefix}-g${i}` });
  return list;
}

describe('2,000 requests with 30% of the keys failing', { timeout: 180000 }, () => {
  let mock;
  let gw;
  before(async () => {
    mock = await startMockllm();
    const common = { max_retries: 6, breaker: { failures: 3, window_ms: 10000, open_ms: 2000 } };
    gw = await startGateway(gatewayConfig({
      // Non-streamed: rate limit, 5xx, refused key, garbage body, body cut short, 502.
      plain: openaiModel(mock, keys('fp', ['status=429;retry_after=1', 'status=500', 'status=401',
        'malformed', 'cut_after=0', 'status=502']), common),
      // Streamed: the same, with streams cut before their first content.
      streamed: openaiModel(mock, keys('fs', ['status=429;retry_after=1', 'status=500', 'status=401',
        'cut_after=0', 'status=503', 'cut_after=0;latency=30']), common),
    }));
    await mockReset(mock);
  });
  after(stopAll);

  test('every request succeeds and no key sees the same request twice', async () => {
    const failures = [];
    await pooled(2000, 32, async (i) => {
      const stream = i % 2 === 1;
      const body = {
        model: stream ? 'streamed' : 'plain', stream,
        messages: [{ role: 'user', content: `request number ${i}` }],
      };
      const r = await postJson(`${gw.url}/v1/chat/completions`, body, { timeoutMs: 30000 });
      if (r.status !== 200) {
        failures.push(`#${i}: ${r.status} ${r.text.slice(0, 300)}`);
      } else if (stream) {
        const ok = r.text.trimEnd().endsWith('data: [DONE]') && !r.text.includes('"error"') &&
          r.text.includes('"content":"Hello"');
        if (!ok) failures.push(`#${i}: stream ${r.text.slice(-300)}`);
      } else if (!r.json?.choices?.[0]?.message?.content?.startsWith('Hello')) {
        failures.push(`#${i}: ${r.text.slice(0, 300)}`);
      }
    });
    assert.deepEqual(failures.slice(0, 10), [], `${failures.length} requests failed`);

    const stats = (await mockStats(mock)).keys;
    const repeats = Object.entries(stats).filter(([, s]) => s.repeats > 0);
    assert.deepEqual(repeats.map(([k, s]) => `${k}: ${s.repeats}`), [], 'a request was sent twice to one key');
    let total = 0;
    for (const s of Object.values(stats)) total += s.requests;
    assert.ok(total >= 2000, `the mock saw ${total} requests`);
    // Broken keys were taken out quickly, not retried into forever.
    for (const prefix of ['fp', 'fs']) {
      const faulty = Object.entries(stats).filter(([k]) => k.startsWith(`${prefix}-f`));
      const wasted = faulty.reduce((n, [, s]) => n + s.requests, 0);
      assert.ok(wasted < 300, `${prefix}: ${wasted} requests went to failing keys: ${JSON.stringify(Object.fromEntries(faulty.map(([k, s]) => [k, s.requests])))}`);
      assert.ok(stats[`${prefix}-f2`].requests <= 2, `the refused key got ${stats[`${prefix}-f2`].requests} requests`);
    }
  });
});

describe('every key failing', { timeout: 60000 }, () => {
  let mock;
  let gw;
  before(async () => {
    mock = await startMockllm();
    // Both keys fail their first 6 requests, then the upstream is back.
    gw = await startGateway(gatewayConfig({
      down: openaiModel(mock, [{ key: 'dn-a;fail_first=6;status=500', name: 'dn-a' },
        { key: 'dn-b;fail_first=6;status=503', name: 'dn-b' }],
      { max_retries: 1, total_timeout_ms: 3000, breaker: { failures: 4, window_ms: 10000, open_ms: 300 } }),
    }));
  });
  after(stopAll);

  test('each request fails fast with a clear error, and success returns with the upstream', async () => {
    let recoveredAt = null;
    let firstOk = null;
    for (let i = 0; i < 60 && firstOk === null; i++) {
      const t0 = Date.now();
      const r = await postJson(`${gw.url}/v1/chat/completions`, {
        model: 'down', messages: [{ role: 'user', content: `attempt ${i}` }],
      });
      const took = Date.now() - t0;
      if (r.status === 200) {
        firstOk = Date.now();
        break;
      }
      assert.ok(took < 3000, `a failing request took ${took} ms`);
      assert.ok([502, 503].includes(r.status), `${r.status} ${r.text}`);
      const e = openAiError(r);
      assert.ok(e.message.length > 20 && e.code, r.text);
      const stats = (await mockStats(mock)).keys;
      if (recoveredAt === null && (stats['dn-a']?.requests ?? 0) >= 6 && (stats['dn-b']?.requests ?? 0) >= 6) {
        recoveredAt = Date.now();
      }
      await sleep(50);
    }
    assert.ok(firstOk !== null, 'the gateway never served again');
    if (recoveredAt !== null) {
      assert.ok(firstOk - recoveredAt < 1500, `served again ${firstOk - recoveredAt} ms after the upstream recovered`);
    }
  });
});

describe('slowloris', { timeout: 120000 }, () => {
  let mock;
  let gw;
  before(async () => {
    mock = await startMockllm();
    gw = await startGateway(gatewayConfig({
      chat: openaiModel(mock, [{ key: 'sl-a;latency=20', name: 'sl-a' }, { key: 'sl-b;latency=20', name: 'sl-b' }]),
    }, { server: { read_timeout_ms: 3000 } }));
  });
  after(stopAll);

  test('50 clients trickling their headers do not keep 1,000 clients from being served', async () => {
    const slow = [];
    let slowClosed = 0;
    for (let i = 0; i < 50; i++) {
      const s = net.connect(gw.port, '127.0.0.1');
      s.on('error', () => {});
      s.on('close', () => { slowClosed++; });
      s.write('POST /v1/chat/completions HTTP/1.1\r\nHost: 127.0.0.1\r\n');
      slow.push(s);
    }
    let trickling = true;
    const trickle = (async () => {
      while (trickling) {
        for (const s of slow) if (!s.destroyed) s.write('X');
        await sleep(200);
      }
    })();

    const statuses = new Map();
    await Promise.all(Array.from({ length: 1000 }, async (_, i) => {
      const r = await postJson(`${gw.url}/v1/chat/completions`, {
        model: 'chat', messages: [{ role: 'user', content: `normal ${i}` }],
      }, { timeoutMs: 60000 });
      statuses.set(r.status, (statuses.get(r.status) ?? 0) + 1);
    }));
    assert.deepEqual([...statuses.entries()], [[200, 1000]]);

    // The trickling clients are cut off by the read timeout, not served forever.
    const deadline = Date.now() + 10000;
    while (slowClosed < 50 && Date.now() < deadline) await sleep(100);
    trickling = false;
    await trickle;
    for (const s of slow) s.destroy();
    assert.equal(slowClosed, 50, 'every slowloris connection is closed by the server');
  });
});
