// Key health shared through Redis (docs/scale-out.md), against a real redis-server and three
// gateway instances in front of mockllm: a key whose breaker opens through one instance gets
// nothing from the two others until the breaker's time has passed, and a key one instance
// quarantined (its upstream refused it) gets nothing more from any of them, until a lift or a
// reload (which delete its mark). The mock's own counts say which requests reached each key.
// Keys with and without limits of their own (the latter are admitted in Redis only for their
// health); and the Redis commands a request costs.
import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import {
  gatewayConfig, mockReset, mockStats, openaiModel, postJson, request, startGateway, startMockllm,
  stopAll, userMessage, waitFor, writeConfig, zhipuModel,
} from './harness.mjs';
import { redisCommand, redisCommandCalls, redisKeyId, startRedis, stopAllRedis } from './redis.mjs';

const OPEN_MS = 3000;
const QUEUE_MS = 400;
const TOKEN = 'scale-out-health-admin-token-0123';
// Every request fails with a 500: a fault, counted by the key's breaker.
const FAULTY = 'so-f1;status=500';
const FAULTY_LIMITED = 'so-f2;status=500';
// Every request is refused with a 401: the key is quarantined.
const REFUSED = 'so-a1;status=401';
const CROWDED = 'so-z1;fail_first=1;status=429;code=1302;latency=300';

describe('three instances share key health through one Redis', { timeout: 120000 }, () => {
  let mock;
  let redis;
  let gateways;

  after(async () => {
    await stopAll();
    await stopAllRedis();
  });

  async function chat(model, via) {
    const r = await postJson(`${gateways[via].url}/v1/chat/completions`,
      { model, messages: userMessage(`request ${model} ${Math.random()}`) }, { timeoutMs: 10000 });
    return r;
  }

  const requestsAt = async (name) => (await mockStats(mock)).keys[name]?.requests ?? 0;
  const pttl = async (name) => Number((await redisCommand(redis.port, 'PTTL', name)).slice(1));

  // The key's state as instance `via` reports it (one key a model here).
  async function keyState(via, model) {
    const r = await request(`${gateways[via].url}/llm/system-capacity`);
    assert.equal(r.status, 200, r.text);
    const key = r.json.details?.[model]?.keys[0];
    assert.ok(key, `no key of ${model} in ${r.text}`);
    return key.state;
  }

  test('start: mockllm, Redis and three gateways', { timeout: 30000 }, async () => {
    mock = await startMockllm();
    redis = await startRedis();
    const breaker = { failures: 2, window_ms: 30000, open_ms: OPEN_MS };
    const file = writeConfig({
      ...gatewayConfig({
        // No limit of its own: admitted in Redis only for its health.
        faulty: openaiModel(mock, [{ key: FAULTY, name: 'f1' }], { max_retries: 0, breaker }),
        limited: openaiModel(mock, [{ key: FAULTY_LIMITED, name: 'f2' }],
          { max_retries: 0, breaker, max_concurrency: 10 }),
        refused: openaiModel(mock, [{ key: REFUSED, name: 'a1' }], { max_retries: 0 }),
        // Healthy: what a request costs in Redis, with and without a limit of its own.
        plain: openaiModel(mock, [{ key: 'so-p1', name: 'p1' }]),
        capped: openaiModel(mock, [{ key: 'so-p2', name: 'p2' }], { max_concurrency: 10 }),
        // Zhipu's 1302 ("too many in flight") on its first request, then 300 ms answers.
        crowded: zhipuModel(mock, [{ key: CROWDED, name: 'z1' }],
          { max_concurrency: 3, max_retries: 0, queue_timeout_ms: 10000 }),
        // Long answers, for the reports of what runs over the instances.
        slow: openaiModel(mock, [{ key: 'so-l1;latency=1500', name: 'l1' }], { max_concurrency: 3 }),
      }),
      retry: { backoff_ms: 0, backoff_max_ms: 0 },
      queue: { timeout_ms: QUEUE_MS },
      admin: { token: TOKEN },
      state: { backend: 'redis', url: redis.url, timeout_ms: 500 },
    });
    gateways = await Promise.all([0, 1, 2].map(() => startGateway(file)));
    for (const gw of gateways) {
      await waitFor(async () => (await request(`${gw.url}/health`)).json?.status === 'ok',
        { timeoutMs: 5000, what: 'health ok' });
    }
  });

  for (const [model, secret, name] of [['faulty', FAULTY, 'so-f1'], ['limited', FAULTY_LIMITED, 'so-f2']]) {
    test(`${model}: a breaker opened through instance 0 keeps instances 1 and 2 off the key for its open time`,
      { timeout: 30000 }, async () => {
        await mockReset(mock);
        // Two faults through instance 0 open its breaker, which it writes to Redis.
        for (let i = 0; i < 2; i += 1) {
          const r = await chat(model, 0);
          assert.ok(r.status >= 500, r.text);
        }
        assert.equal(await keyState(0, model), 'open');
        const opened = performance.now();
        // Its mark is sent without waiting: let it arrive (without it, the counts below fail).
        const mark = `bc:open:${redisKeyId(model, secret)}`;
        await waitFor(async () => (await pttl(mark)) > 0, { timeoutMs: 1000, what: 'the mark' }).catch(() => {});
        assert.equal(await requestsAt(name), 2);

        // The others send nothing to the key while it is open: each request waits out its
        // queue timeout and gets a 429 (the key may come back), the mock sees none of them.
        const others = await Promise.all([1, 2, 1, 2, 1, 2].map((via) => chat(model, via)));
        for (const r of others) assert.equal(r.status, 429, r.text);
        assert.equal(await requestsAt(name), 2, 'a request reached the key while its breaker was open');
        assert.equal(await keyState(1, model), 'open');
        assert.equal(await keyState(2, model), 'open');
        assert.ok(performance.now() - opened < OPEN_MS - 500, 'the checks ran past the open time');
        const left = await pttl(mark);
        assert.ok(left > 0 && left <= OPEN_MS, `the breaker's mark lives ${left} ms`);

        // Once the time has passed, the key is tried again (a half-open trial each).
        await waitFor(async () => (await pttl(mark)) < 0, { timeoutMs: OPEN_MS + 2000, what: 'the mark expired' });
        await waitFor(async () => (await keyState(1, model)) === 'half_open', { timeoutMs: 2000, what: 'half-open on 1' });
        assert.ok((await chat(model, 1)).status >= 500);
        assert.equal(await requestsAt(name), 3);
      });
  }

  test('a key quarantined through instance 0 gets nothing from instances 1 and 2; a lift clears the mark',
    { timeout: 30000 }, async () => {
      await mockReset(mock);
      const refused = await chat('refused', 0);
      assert.equal(refused.status, 502, refused.text);
      assert.equal(refused.json.error.code, 'invalid_api_key', refused.text);
      assert.equal(await keyState(0, 'refused'), 'quarantined');
      const mark = `bc:quar:${redisKeyId('refused', REFUSED)}`;
      await waitFor(async () => (await pttl(mark)) > 0, { timeoutMs: 1000, what: 'the mark' }).catch(() => {});

      // The others are refused by Redis, quarantine the key themselves, and answer at once.
      for (const via of [1, 2, 1, 2]) {
        const r = await chat('refused', via);
        assert.equal(r.status, 503, r.text);
        assert.equal(r.json.error.code, 'no_usable_key', r.text);
      }
      assert.equal(await requestsAt('so-a1'), 1, 'a request reached the quarantined key');
      assert.equal(await keyState(1, 'refused'), 'quarantined');
      assert.equal(await keyState(2, 'refused'), 'quarantined');
      assert.ok((await pttl(mark)) > 3500 * 1000, 'the quarantine mark lives an hour');

      // A lift through instance 0 takes the mark out of Redis: the key is tried again there.
      const lift = await postJson(`${gateways[0].url}/admin/keys/lift`, { model: 'refused', key: 'a1' },
        { headers: { authorization: `Bearer ${TOKEN}` } });
      assert.equal(lift.status, 200, lift.text);
      await waitFor(async () => (await redisCommand(redis.port, 'EXISTS', mark)) === ':0',
        { timeoutMs: 3000, what: 'the mark lifted' });
      assert.equal((await chat('refused', 0)).json?.error?.code, 'invalid_api_key');
      assert.equal(await requestsAt('so-a1'), 2);

      // Refused again, quarantined again, its mark again; a reload lifts the quarantine and
      // deletes the mark too.
      await waitFor(async () => (await pttl(mark)) > 0, { timeoutMs: 3000, what: 'the mark again' });
      const reload = await request(`${gateways[0].url}/admin/reload`,
        { method: 'POST', headers: { authorization: `Bearer ${TOKEN}` } });
      assert.equal(reload.status, 200, reload.text);
      await waitFor(async () => (await redisCommand(redis.port, 'EXISTS', mark)) === ':0',
        { timeoutMs: 3000, what: 'the mark gone after the reload' });
      assert.equal(await keyState(0, 'refused'), 'ok');
    });

  test('"too many in flight" through instance 0: the others hold the key one below its max_concurrency until a success',
    { timeout: 30000 }, async () => {
      await mockReset(mock);
      const crowded = await chat('crowded', 0);
      assert.equal(crowded.json?.error?.code, 'concurrency_limit_exceeded', crowded.text);
      const cap = `bc:cap:${redisKeyId('crowded', CROWDED)}`;
      await waitFor(async () => (await redisCommand(redis.port, 'GET', cap)) === '$1', { timeoutMs: 1000, what: 'the lowered concurrency' })
        .catch(() => {});
      // Six requests through the two others, once the key's short cooldown (2 s) is over: the
      // first wave is two (the lowered limit), not three; the first success restores three.
      const results = await Promise.all([1, 2, 1, 2, 1, 2].map((via) => chat('crowded', via)));
      for (const r of results) assert.equal(r.status, 200, r.text);
      const starts = [...(await mockStats(mock)).keys['so-z1'].starts_ms].sort((x, y) => x - y).slice(1);
      assert.equal(starts.length, 6);
      assert.ok(starts[2] - starts[0] >= 200,
        `three requests started within ${starts[2] - starts[0]} ms on a key held to 2: ${starts.join(',')}`);
      assert.equal(await redisCommand(redis.port, 'EXISTS', cap), ':0', 'a success restores the configured limit');
    });

  test('the load reports count the requests in flight over every instance, and say which answered',
    { timeout: 30000 }, async () => {
      await mockReset(mock);
      const running = [chat('slow', 0), chat('slow', 0)];
      await waitFor(async () => (await mockStats(mock)).keys['so-l1']?.in_flight === 2,
        { timeoutMs: 3000, what: 'two requests running through instance 0' });
      const capacity = await request(`${gateways[1].url}/llm/system-capacity?model=slow`);
      assert.equal(capacity.status, 200, capacity.text);
      assert.equal(capacity.json.figures, 'all_instances', capacity.text);
      assert.equal(typeof capacity.json.instance, 'string');
      const model = capacity.json.details.slow;
      assert.equal(model.keys[0].in_flight, 2, capacity.text);
      assert.equal(model.keys[0].current, 2, capacity.text);
      assert.equal(model.current, 2);
      assert.equal(model.in_flight, 2);
      assert.equal(capacity.json.load_percent, 66.67);
      const load = await request(`${gateways[2].url}/llm/system-load?model=slow`);
      assert.equal(load.json.load_percent, 66.67, load.text);
      assert.equal(load.json.figures, 'all_instances');
      const key = await request(`${gateways[2].url}/llm/key-load/slow/l1`);
      assert.equal(key.status, 200, key.text);
      assert.equal(key.json.in_flight, 2, key.text);
      assert.equal(key.json.figures, 'all_instances');
      assert.notEqual(key.json.instance, capacity.json.instance, 'each instance names itself');
      for (const r of await Promise.all(running)) assert.equal(r.status, 200, r.text);
    });

  test('Redis commands per request: one round trip to admit, one release for a lease', { timeout: 30000 }, async () => {
    const N = 40;
    const perRequest = {};
    for (const model of ['plain', 'capped']) {
      assert.equal((await chat(model, 0)).status, 200);  // the script is in Redis's cache
      const before = await redisCommandCalls(redis.port);
      for (let i = 0; i < N; i += 1) assert.equal((await chat(model, i % 3)).status, 200);
      const calls = await redisCommandCalls(redis.port);
      const delta = (c) => ((calls[c] ?? 0) - (before[c] ?? 0)) / N;
      perRequest[model] = { evalsha: delta('evalsha'), zrem: delta('zrem'), mget: delta('mget'), pttl: delta('pttl') };
    }
    // Written out for docs/benchmarks.md.
    console.log(`Redis commands per request: ${JSON.stringify(perRequest)}`);
    // A key without a limit: one EVALSHA that reads its health marks with one MGET, nothing
    // else (a mark's time left is read only when the mark is there). (A
    // worker whose Redis answer was late on a loaded machine admits a request or two without
    // Redis while it reconnects: never more than one command a request.)
    for (const model of ['plain', 'capped']) {
      const c = perRequest[model];
      assert.ok(c.evalsha <= 1 && c.evalsha >= 0.9, JSON.stringify(c));
      assert.ok(Math.abs(c.mget - c.evalsha) < 1e-9, JSON.stringify(c));
      assert.equal(c.pttl, 0, JSON.stringify(c));
    }
    assert.equal(perRequest.plain.zrem, 0);
    // A key with max_concurrency: the admission and the lease's release, as before.
    assert.equal(perRequest.capped.zrem, perRequest.capped.evalsha);
  });
});
