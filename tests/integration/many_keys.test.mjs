// Issue 24, seen from outside: a model of 10,000 keys starts, checks and reloads within a
// second; a reload from 4 keys to 10,000 and back under steady traffic fails no request; the
// load reports take ?model=; metrics.per_key: false keeps /metrics to one series per model.
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { after, before, describe, test } from 'node:test';
import {
  gatewayConfig, openAiError, openaiModel, postJson, request, runGateway, sleep, startGateway,
  startMockllm, stopAll, toYaml, userMessage, writeConfig,
} from './harness.mjs';

const TOKEN = 'adm-many-keys-token-0123456789';
const admin = { authorization: `Bearer ${TOKEN}` };
const keys = (n) => Array.from({ length: n }, (_, i) => ({ key: `mk-${i}`, name: `k${i}`, weight: 1 + (i % 3) }));

// Far above the ~0.5 s these take in a release build; under ASan they take several times that.
const slowBound = process.env.ASAN_OPTIONS ? 30000 : 8000;

describe('many keys', { timeout: 180000 }, () => {
  let mock;
  before(async () => {
    mock = await startMockllm();
  });
  after(stopAll);

  const config = (n, extra = {}) => toYaml({
    ...gatewayConfig({
      big: openaiModel(mock, keys(n), { max_concurrency: 4 }),
      small: openaiModel(mock, ['mk-small-a', 'mk-small-b']),
    }),
    admin: { token: TOKEN },
    ...extra,
  });

  test('check and start with 10,000 keys (their times logged; the 1 s goal is in docs/benchmarks.md)', async () => {
    const file = writeConfig(config(10000));
    let t0 = Date.now();
    const checked = await runGateway(['check', '--config', file]);
    const checkMs = Date.now() - t0;
    assert.equal(checked.code, 0, checked.stderr);
    t0 = Date.now();
    const gw = await startGateway(file);
    const startMs = Date.now() - t0;
    console.log(`10,000 keys: check ${checkMs} ms, start ${startMs} ms`);
    // The one-second goal is measured (docs/benchmarks.md), not asserted: a timed assertion
    // would fail on a loaded machine or under the sanitizers. This bound only catches a
    // return of the quadratic work (11.7 s for check before).
    assert.ok(checkMs < slowBound, `check took ${checkMs} ms`);
    assert.ok(startMs < slowBound, `start took ${startMs} ms`);
    const r = await postJson(`${gw.url}/v1/chat/completions`, { model: 'big', messages: userMessage() });
    assert.equal(r.status, 200, r.text);
  });

  // Per-key series are 14 a key and take most of a reload's time at this size: the pool of
  // 10,000 keys is configured as docs/configuration.md advises, with metrics.per_key: false.
  test('a reload from 4 keys to 10,000 and back under steady traffic fails no request', async () => {
    const quiet = { metrics: { per_key: false } };
    const file = writeConfig(config(4, quiet));
    const gw = await startGateway(file);
    const reload = async (n) => {
      writeFileSync(file, config(n, quiet));
      const t0 = Date.now();
      const r = await request(`${gw.url}/admin/reload`, { method: 'POST', headers: admin, timeoutMs: 20000 });
      assert.equal(r.status, 200, r.text);
      return Date.now() - t0;
    };
    let stop = false;
    let sent = 0;
    const failures = [];
    const client = async () => {
      while (!stop) {
        const r = await postJson(`${gw.url}/v1/chat/completions`, { model: 'big', messages: userMessage() });
        sent++;
        if (r.status !== 200) failures.push(`${r.status} ${r.text}`);
      }
    };
    const clients = Array.from({ length: 8 }, client);
    await sleep(300);
    const up = await reload(10000);
    await sleep(500);
    const down = await reload(4);
    await sleep(300);
    stop = true;
    await Promise.all(clients);
    assert.deepEqual(failures, []);
    assert.ok(sent > 50, `only ${sent} requests ran`);
    console.log(`reload 4 -> 10,000 keys: ${up} ms; back to 4: ${down} ms; ${sent} requests`);
    assert.ok(up < slowBound, `the reload to 10,000 keys took ${up} ms`);
    assert.ok(down < slowBound, `the reload back to 4 keys took ${down} ms`);
  });

  test('the load reports take ?model=', async () => {
    const gw = await startGateway(writeConfig(config(100)));
    const cap = await request(`${gw.url}/llm/system-capacity?model=small`);
    assert.equal(cap.status, 200, cap.text);
    assert.deepEqual(Object.keys(cap.json.details), ['small']);
    assert.equal(cap.json.details.small.keys.length, 2);
    const all = await request(`${gw.url}/llm/system-capacity`);
    assert.deepEqual(Object.keys(all.json.details).sort(), ['big', 'small']);
    const load = await request(`${gw.url}/llm/system-load?model=big`);
    assert.equal(load.status, 200, load.text);
    assert.equal(typeof load.json.load_percent, 'number');
    for (const path of ['/llm/system-capacity?model=nope', '/llm/system-load?model=nope']) {
      const r = await request(`${gw.url}${path}`);
      assert.equal(r.status, 404, r.text);
      assert.equal(openAiError(r).code, 'model_not_found');
    }
  });

  test('metrics.per_key: false gives one series per model, without the key label', async () => {
    const gw = await startGateway(writeConfig(config(1000, { metrics: { per_key: false } })));
    for (let i = 0; i < 5; i++) {
      const r = await postJson(`${gw.url}/v1/chat/completions`, { model: 'big', messages: userMessage() });
      assert.equal(r.status, 200, r.text);
    }
    const m = await request(`${gw.url}/metrics`);
    assert.equal(m.status, 200);
    assert.ok(!/key="k\d+"/.test(m.text), 'a per-key series is still there');
    assert.match(m.text, /bc_upstream_attempts_total\{model="big",outcome="ok"\} 5/);
    assert.match(m.text, /bc_key_state\{model="big",state="ok"\} 1000/);
    assert.ok(m.text.length < 20000, `/metrics is ${m.text.length} bytes`);
  });
});
