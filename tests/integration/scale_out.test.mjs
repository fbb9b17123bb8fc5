// Scale-out through Redis (docs/scale-out.md), against a real redis-server: the `state:`
// section, `check --connect` (a right and a wrong password, an unreachable server), what
// `serve` does when Redis is unreachable at startup (state.on_unavailable), a reload that
// changes the section; then three instances sharing one Redis in front of mockllm, whose own
// counts say whether the keys' limits held over all three: under ten times the load the keys
// allow, after one instance is killed with SIGKILL, and while Redis is down and back.
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { after, describe, test } from 'node:test';
import {
  gatewayConfig, mockModel, mockReset, mockStats, openAiError, openaiModel, postJson, request,
  runGateway, startGateway, startMockllm, stopAll, toYaml, userMessage, waitFor, writeConfig,
} from './harness.mjs';
import { freePort, redisCommand, redisKeyId, startRedis, stopAllRedis } from './redis.mjs';

const PASSWORD = 'scale-out-test-password';

function configWithState(state) {
  return { ...gatewayConfig({ m: mockModel({ latency_ms: 5 }, { max_concurrency: 3 }) }), state };
}

describe('state: redis', { timeout: 60000 }, () => {
  after(async () => {
    await stopAll();
    await stopAllRedis();
  });

  test('check --connect: the right password from ${ENV}, a wrong one, an unreachable server',
    { timeout: 20000 }, async () => {
      const redis = await startRedis({ password: PASSWORD });
      const file = writeConfig(configWithState({
        backend: 'redis', url: redis.url, password: '${BC_TEST_REDIS_PASSWORD}', timeout_ms: 1000,
      }));

      const right = await runGateway(['check', '--config', file, '--connect'],
        { env: { BC_TEST_REDIS_PASSWORD: PASSWORD } });
      assert.equal(right.code, 0, right.stderr);
      assert.match(right.stdout, new RegExp(`Redis at 127\\.0\\.0\\.1:${redis.port}: connected`));

      const wrong = await runGateway(['check', '--config', file, '--connect'],
        { env: { BC_TEST_REDIS_PASSWORD: 'not-the-password' } });
      assert.equal(wrong.code, 1);
      assert.match(wrong.stderr, /state\.url: Redis at 127\.0\.0\.1:\d+ refused the password: (WRONGPASS|ERR invalid password)/);
      assert.doesNotMatch(wrong.stderr + wrong.stdout, /not-the-password/);

      // Without --connect, check does not touch Redis: the wrong password passes.
      const offline = await runGateway(['check', '--config', file],
        { env: { BC_TEST_REDIS_PASSWORD: 'not-the-password' } });
      assert.equal(offline.code, 0, offline.stderr);

      await redis.stop();
      const gone = await runGateway(['check', '--config', file, '--connect'],
        { env: { BC_TEST_REDIS_PASSWORD: PASSWORD } });
      assert.equal(gone.code, 1);
      assert.match(gone.stderr, new RegExp(`Redis at 127\\.0\\.0\\.1:${redis.port}: Connection refused`));
    });

  test('a bad state section names the file, the line and the field', { timeout: 10000 }, async () => {
    const file = writeConfig(
      'models:\n  m:\n    provider: mock\n    api_keys: [{key: k}]\nstate:\n  backend: redis\n  url: http://127.0.0.1:6379\n');
    const r = await runGateway(['check', '--config', file]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /balancedcall\.yaml:7: state\.url: expected redis:\/\/\[:password@\]host\[:port\]\[\/db\] or unix:/);
  });

  test('Redis unreachable at startup: on_unavailable refuse exits 1, serve_degraded serves',
    { timeout: 20000 }, async () => {
      const port = await freePort();
      const refuse = writeConfig(configWithState({
        backend: 'redis', url: `redis://127.0.0.1:${port}`, on_unavailable: 'refuse',
      }));
      const refused = await runGateway(['serve', '--config', refuse, '--port', '0']);
      assert.equal(refused.code, 1);
      assert.match(refused.stderr, /state\.url: Redis at 127\.0\.0\.1:\d+: Connection refused \(state\.on_unavailable: refuse\)/);
      assert.doesNotMatch(refused.stdout, /listening on/);

      const degraded = configWithState({ backend: 'redis', url: `redis://127.0.0.1:${port}` });
      const gw = await startGateway(degraded);
      assert.match(gw.stderr, /serving degraded/);
      const res = await postJson(`${gw.url}/v1/chat/completions`, { model: 'm', messages: userMessage() });
      assert.equal(res.status, 200);
      await gw.stop();
    });

  test('a reload that changes state says it needs a restart', { timeout: 20000 }, async () => {
    const token = 'scale-out-admin-token-0123456789';
    const local = { ...configWithState({ backend: 'local' }), admin: { token } };
    const file = writeConfig(toYaml(local));
    const gw = await startGateway(file);
    const redis = await startRedis();
    writeFileSync(file, toYaml({ ...local, state: { backend: 'redis', url: redis.url } }));
    const r = await request(`${gw.url}/admin/reload`,
      { method: 'POST', headers: { authorization: `Bearer ${token}` } });
    assert.equal(r.status, 200, r.text);
    assert.match(r.text, /changes to state take effect only after a restart/);
    await gw.stop();
  });
});

// The most starts in any `span` ms among `starts` (sorted ms).
function maxInWindow(starts, span) {
  let most = 0;
  for (let i = 0, j = 0; i < starts.length; i += 1) {
    while (starts[i] - starts[j] >= span) j += 1;
    most = Math.max(most, i - j + 1);
  }
  return most;
}

describe('three instances share one Redis', { timeout: 120000 }, () => {
  const QUEUE_MS = 8000;
  const LEASE_MS = 1500;
  // Its first request answers 429 with Retry-After: 2; the next ones succeed.
  const COOL_KEY = 'so-r1;status=429;retry_after=2;fail_first=1';
  let mock;
  let redis;
  let gateways;
  let file;

  after(async () => {
    await stopAll();
    await stopAllRedis();
  });

  // One request through instance `i % 3`: {status, ms, body}.
  async function chat(i, model, { via } = {}) {
    const gw = gateways[via ?? i % gateways.length];
    const t0 = performance.now();
    const r = await postJson(`${gw.url}/v1/chat/completions`,
      { model, messages: userMessage(`request ${model} ${i} ${Math.random()}`) },
      { timeoutMs: 30000 });
    return { ...r, ms: performance.now() - t0 };
  }

  // Every answer is a 200, or a 429 capacity_exhausted that came after the queue timeout.
  function servedOrTimedOut(results, queueMs) {
    for (const r of results) {
      if (r.status === 200) continue;
      assert.equal(r.status, 429, r.text);
      assert.equal(openAiError(r).code, 'capacity_exhausted');
      assert.ok(r.ms >= queueMs - 100, `a 429 after ${Math.round(r.ms)} ms, before the ${queueMs} ms queue timeout`);
    }
    return results.filter((r) => r.status === 200).length;
  }

  async function health(gw) {
    const r = await request(`${gw.url}/health`);
    assert.equal(r.status, 200);
    return r.json.status;
  }

  async function degradedMetric(gw) {
    const r = await request(`${gw.url}/metrics`);
    const line = r.text.split('\n').find((l) => l.startsWith('bc_state_degraded'));
    return line ? Number(line.split(' ').pop()) : NaN;
  }

  test('start: mockllm, Redis and three gateways, healthy', { timeout: 30000 }, async () => {
    mock = await startMockllm();
    redis = await startRedis();
    file = writeConfig({
      ...gatewayConfig({
        conc: openaiModel(mock, [{ key: 'so-c1;latency=200', name: 'c1' }], { max_concurrency: 3 }),
        rate: openaiModel(mock, [{ key: 'so-q1', name: 'q1' }], { strategy: 'qps', max_qps: 5 }),
        slow: openaiModel(mock, [{ key: 'so-s1;latency=2500', name: 's1' }], { max_concurrency: 3 }),
        cool: openaiModel(mock, [{ key: COOL_KEY, name: 'r1' }], { max_concurrency: 10 }),
      }),
      queue: { timeout_ms: QUEUE_MS },
      state: { backend: 'redis', url: redis.url, lease_ms: LEASE_MS, timeout_ms: 500 },
    });
    gateways = await Promise.all([0, 1, 2].map(() => startGateway(file)));
    for (const gw of gateways) {
      await waitFor(async () => (await health(gw)) === 'ok', { timeoutMs: 5000, what: 'health ok' });
      assert.equal(await degradedMetric(gw), 0);
    }
  });

  test('max_concurrency 3 over three instances under 10x the load: never more than 3 in flight',
    { timeout: 30000 }, async () => {
      await mockReset(mock);
      const results = await Promise.all(Array.from({ length: 30 }, (_, i) => chat(i, 'conc')));
      const served = servedOrTimedOut(results, QUEUE_MS);
      const key = (await mockStats(mock)).keys['so-c1'];
      assert.ok(key.max_in_flight <= 3, `the mock saw ${key.max_in_flight} in flight on a key of max_concurrency 3`);
      assert.equal(key.max_in_flight, 3, 'three instances together should use all 3 slots');
      assert.equal(key.requests, served);
      assert.ok(served >= 20, `only ${served} of 30 served in ${QUEUE_MS} ms at 3 x 200 ms`);
    });

  test('max_qps 5 over three instances under 10x the load: no second holds more than 5 starts',
    { timeout: 30000 }, async () => {
      await mockReset(mock);
      const queueMs = QUEUE_MS;
      const t0 = performance.now();
      const results = await Promise.all(Array.from({ length: 50 }, (_, i) => chat(i, 'rate')));
      const elapsed = performance.now() - t0;
      const served = servedOrTimedOut(results, queueMs);
      const starts = [...(await mockStats(mock)).keys['so-q1'].starts_ms].sort((a, b) => a - b);
      assert.equal(starts.length, served);
      // Redis times the window; the mock stamps arrivals tens of ms later on a loaded machine.
      // A 900 ms window leaves that jitter out and still catches a burst at a window edge.
      assert.ok(maxInWindow(starts, 900) <= 5,
        `${maxInWindow(starts, 900)} starts within 900 ms: ${starts.join(',')}`);
      // At 5 per second over all instances, the queue timeout bounds what can be served.
      assert.ok(served <= 5 * Math.ceil(elapsed / 1000) + 5, `${served} served in ${Math.round(elapsed)} ms`);
      assert.ok(served >= 5 * Math.floor(queueMs / 1000) - 10, `only ${served} served in ${Math.round(elapsed)} ms`);
    });

  test('a 429 with Retry-After through one instance: the other two send nothing to the key until it has passed',
    { timeout: 30000 }, async () => {
      await mockReset(mock);
      const first = chat(0, 'cool', { via: 0 });
      // The 429 reached instance 0, which cooled the key in Redis for everyone.
      const cooling = `bc:cool:${redisKeyId('cool', COOL_KEY)}`;
      await waitFor(async () => Number((await redisCommand(redis.port, 'PTTL', cooling)).slice(1)) > 0,
        { timeoutMs: 5000, what: 'the shared cooldown in Redis' });
      const others = await Promise.all([1, 2, 1, 2].map((via, i) => chat(10 + i, 'cool', { via })));
      for (const r of others) assert.equal(r.status, 200, r.text);
      const firstAnswer = await first;
      assert.ok([200, 429].includes(firstAnswer.status), firstAnswer.text);
      const starts = [...(await mockStats(mock)).keys['so-r1'].starts_ms].sort((a, b) => a - b);
      assert.ok(starts.length >= 5, `starts: ${starts.join(',')}`);
      for (const t of starts.slice(1)) {
        assert.ok(t - starts[0] >= 1800, `a request reached the key ${t - starts[0]} ms after its 429 with Retry-After: 2`);
      }
    });

  test('a request longer than the lease keeps its slot; SIGKILL of an instance frees its slots within the lease time',
    { timeout: 30000 }, async () => {
      await mockReset(mock);
      const victim = gateways[2];
      // The victim takes every slot of `slow` (2.5 s each, past the 1.5 s lease: renewed).
      const doomed = [0, 1, 2].map((i) => chat(i, 'slow', { via: 2 }).catch((e) => e));
      await waitFor(async () => (await mockStats(mock)).keys['so-s1']?.in_flight === 3,
        { timeoutMs: 5000, what: 'the victim holding 3 slots' });
      const held = performance.now();
      // The two others queue for the key meanwhile.
      const waiting = [0, 1, 0].map((via, i) => chat(10 + i, 'slow', { via }));
      // Past the lease time: only renewals keep the victim's slots.
      await new Promise((resolve) => setTimeout(resolve, LEASE_MS + 300));
      assert.equal((await mockStats(mock)).keys['so-s1'].in_flight, 3);
      await victim.signal('SIGKILL');
      const killed = performance.now();
      await Promise.all(doomed);
      const results = await Promise.all(waiting);
      for (const r of results) assert.equal(r.status, 200, r.text);
      const key = (await mockStats(mock)).keys['so-s1'];
      assert.ok(key.max_in_flight <= 3, `the mock saw ${key.max_in_flight} in flight`);
      // Each waiter started within the lease time after the kill (plus a poll and a loaded
      // machine's slack), and not before (its slot was held until then).
      for (const r of results) {
        const startedAfterKill = (held + r.ms - 2500) - killed;
        assert.ok(startedAfterKill <= LEASE_MS + 1000, `a waiter started ${Math.round(startedAfterKill)} ms after the kill`);
      }
      gateways = gateways.slice(0, 2);
    });

  test('Redis killed under load: degraded on local shares, nothing fails; back: exact shared limits again',
    { timeout: 60000 }, async () => {
      await mockReset(mock);
      // Each instance holds one of the slow key's 3 slots (its share of the three) when Redis
      // dies, and one more request waits on each: the shares hold the sum to 3. (An instance
      // holding more than its share at that moment keeps its requests, and the sum may pass
      // the limit by that much until they end: docs/scale-out.md.)
      const held = [0, 1, 2].map((i) => chat(i, 'slow'));
      await waitFor(async () => ((await mockStats(mock)).keys['so-s1']?.in_flight ?? 0) === 3,
        { timeoutMs: 5000, what: 'one slow request on each instance' });
      const waiting = [3, 4, 5].map((i) => chat(i, 'slow'));
      // And a load on the other key, spread over the instances: none of it may fail.
      const load = Promise.all(Array.from({ length: 20 }, (_, i) => chat(i, 'conc')));
      await waitFor(async () => ((await mockStats(mock)).keys['so-c1']?.requests ?? 0) >= 3,
        { timeoutMs: 5000, what: 'load running' });
      const port = redis.port;
      await redis.stop('SIGKILL');
      const results = [...await Promise.all([...held, ...waiting]), ...await load];
      for (const r of results) assert.equal(r.status, 200, r.text);
      for (const gw of gateways) {
        await waitFor(async () => (await health(gw)) === 'degraded', { timeoutMs: 5000, what: '/health degraded' });
        assert.equal(await degradedMetric(gw), 1);
      }
      let key = (await mockStats(mock)).keys['so-s1'];
      assert.equal(key.requests, 6);
      assert.ok(key.max_in_flight <= 3, `the mock saw ${key.max_in_flight} in flight during the outage`);
      assert.match(gateways[0].stderr, /state: Redis unavailable .*serving degraded/);

      // Degraded, one instance alone may use only its share: 3 slots / 2 live instances = 2
      // for the lower-ranked, 1 for the other.
      await mockReset(mock);
      const alone = await Promise.all(Array.from({ length: 6 }, (_, i) => chat(i, 'conc', { via: 0 })));
      for (const r of alone) assert.equal(r.status, 200, r.text);
      key = (await mockStats(mock)).keys['so-c1'];
      assert.ok(key.max_in_flight >= 1 && key.max_in_flight <= 2, `one instance used ${key.max_in_flight} slots while degraded`);

      redis = await startRedis({ port });
      for (const gw of gateways) {
        await waitFor(async () => (await health(gw)) === 'ok', { timeoutMs: 15000, intervalMs: 100, what: '/health ok again' });
        assert.equal(await degradedMetric(gw), 0);
      }
      assert.match(gateways[0].stderr, /state: Redis is back/);
      // Exact again: one instance alone may use all 3 slots, never more.
      await mockReset(mock);
      const exact = await Promise.all(Array.from({ length: 12 }, (_, i) => chat(i, 'conc', { via: 0 })));
      for (const r of exact) assert.equal(r.status, 200, r.text);
      key = (await mockStats(mock)).keys['so-c1'];
      assert.equal(key.max_in_flight, 3);
    });
});
