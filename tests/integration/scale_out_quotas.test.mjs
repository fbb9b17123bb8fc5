// Daily quotas, minute limits and client budgets shared through Redis (docs/scale-out.md):
// three instances in front of mockllm and one real redis-server, whose counts say whether a
// key's rpd and rpm and a client's tokens_per_day held over all three; then Redis killed, and
// each instance serving on its share of the quota from its local counts.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { after, describe, test } from 'node:test';
import {
  gatewayConfig, mockStats, openaiModel, postJson, request, startGateway, startMockllm, stopAll,
  userMessage, waitFor, writeConfig,
} from './harness.mjs';
import { redisKeyId, startRedis, stopAllRedis } from './redis.mjs';

const ALICE = 'ck-alice-quota-0123456789';
const CAROL = 'ck-carol-quota-0123456789';
const DAVE = 'ck-dave-quota-0123456789';
const CAROL_TOKENS_PER_DAY = 300;
const QUEUE_MS = 400;

describe('three instances share rpd, rpm and client budgets through Redis', { timeout: 90000 }, () => {
  let mock;
  let redis;
  let gateways;

  after(async () => {
    await stopAll();
    await stopAllRedis();
  });

  // One request through instance `via`: {status, json, headers, ms}.
  async function chat(via, model, { key = ALICE, path = '/v1/chat/completions', maxTokens } = {}) {
    const t0 = performance.now();
    const body = { model, messages: userMessage(`quota ${model} ${Math.random()}`) };
    if (maxTokens) body.max_tokens = maxTokens;
    const r = await postJson(`${gateways[via].url}${path}`, body,
      { headers: { authorization: `Bearer ${key}` }, timeoutMs: 15000 });
    return { ...r, ms: performance.now() - t0 };
  }

  const requestsOf = async (key) => (await mockStats(mock)).keys[key]?.requests ?? 0;

  async function health(gw) {
    return (await request(`${gw.url}/health`)).json.status;
  }

  test('start: mockllm, Redis and three gateways', { timeout: 30000 }, async () => {
    mock = await startMockllm();
    redis = await startRedis();
    const file = writeConfig({
      ...gatewayConfig({
        daily: openaiModel(mock, [{ key: 'sq-a', name: 'sq-a', weight: 100 }, { key: 'sq-b', name: 'sq-b' }],
          { rpd: 5, queue_timeout_ms: QUEUE_MS }),
        minute: openaiModel(mock, [{ key: 'sq-m', name: 'sq-m' }], { rpm: 4, queue_timeout_ms: QUEUE_MS }),
        chat: openaiModel(mock, [{ key: 'sq-c', name: 'sq-c' }]),
        tokens: openaiModel(mock, [{ key: 'sq-t', name: 'sq-t' }], { tpm: 100000, tpd: 100000 }),
        share: openaiModel(mock, [{ key: 'sq-d', name: 'sq-d' }], { rpd: 9, queue_timeout_ms: QUEUE_MS }),
      }),
      auth: { client_keys: [
        { name: 'alice', key: ALICE },
        { name: 'carol', key: CAROL, tokens_per_day: CAROL_TOKENS_PER_DAY },
        { name: 'dave', key: DAVE, requests_per_day: 6 },
      ] },
      state: { backend: 'redis', url: redis.url, timeout_ms: 500 },
    });
    gateways = await Promise.all([0, 1, 2].map(() => startGateway(file)));
    for (const gw of gateways) {
      await waitFor(async () => (await health(gw)) === 'ok', { timeoutMs: 5000, what: 'health ok' });
    }
  });

  test('rpd 5 over three instances: exactly 5 requests reach each key, the 6th goes to the other key',
    { timeout: 20000 }, async () => {
      for (let i = 0; i < 10; i += 1) {
        const r = await chat(i % 3, 'daily');
        assert.equal(r.status, 200, `request ${i + 1}: ${r.text}`);
      }
      // Per instance, each key would have taken 5: 30 in all. Shared, exactly 5 each.
      assert.equal(await requestsOf('sq-a'), 5);
      assert.equal(await requestsOf('sq-b'), 5);
      // The 11th, through each instance, finds both keys at quota: nothing more reaches them.
      for (const via of [0, 1, 2]) {
        const over = await chat(via, 'daily');
        assert.ok(over.status === 429 || over.status === 503, over.text);
        const capacity = await request(`${gateways[via].url}/llm/system-capacity`,
          { headers: { authorization: `Bearer ${ALICE}` } });
        for (const k of capacity.json.details.daily.keys) {
          assert.equal(k.state, 'quota', `instance ${via}: ${JSON.stringify(k)}`);
          assert.ok(k.until && k.quota.resets_at, 'the reset time is shown');
          assert.match(k.quota.resets_at, /T00:00:00Z$/);
        }
      }
      assert.equal(await requestsOf('sq-a') + await requestsOf('sq-b'), 10);
    });

  test('rpm 4 over three instances: 4 requests reach the key in the minute, the rest 429 after the queue timeout',
    { timeout: 20000 }, async () => {
      const results = await Promise.all(Array.from({ length: 9 }, (_, i) => chat(i % 3, 'minute')));
      assert.equal(results.filter((r) => r.status === 200).length, 4);
      for (const r of results.filter((x) => x.status !== 200)) {
        assert.equal(r.status, 429, r.text);
        assert.equal(r.json.error.code, 'capacity_exhausted');
        assert.ok(r.ms >= QUEUE_MS - 50, `a 429 after ${Math.round(r.ms)} ms`);
      }
      assert.equal(await requestsOf('sq-m'), 4);
    });

  test('a client with tokens_per_day across instances: 429 budget_exceeded once the sum would cross it',
    { timeout: 30000 }, async () => {
      let used = 0;
      let served = 0;
      let refused;
      for (let i = 0; i < 60 && !refused; i += 1) {
        const r = await chat(i % 3, 'chat', { key: CAROL, maxTokens: 20 });
        if (r.status === 200) {
          served += 1;
          used += r.json.usage.total_tokens;
        } else {
          refused = r;
        }
      }
      assert.ok(refused, `carol was never refused (${served} served, ${used} tokens)`);
      assert.equal(refused.status, 429, refused.text);
      assert.equal(refused.json.error.code, 'budget_exceeded');
      assert.match(refused.json.error.message, /tokens_per_day budget of 300.*resets at \d{4}-\d\d-\d\dT00:00:00Z/);
      const retryAfter = Number(refused.headers.get('retry-after'));
      assert.ok(retryAfter > 0 && retryAfter <= 86400, `Retry-After ${retryAfter}`);
      // Counted over the three instances: the sum stays within the budget (each instance
      // alone would have let about three times as much through).
      assert.ok(used <= CAROL_TOKENS_PER_DAY, `carol used ${used} tokens of ${CAROL_TOKENS_PER_DAY}`);
      assert.ok(served >= 2, `only ${served} served`);
      // Every instance refuses her now, in both dialects; alice is unaffected.
      for (const via of [0, 1, 2]) {
        const again = await chat(via, 'chat', { key: CAROL, maxTokens: 20 });
        assert.equal(again.status, 429, again.text);
      }
      const anthropic = await postJson(`${gateways[1].url}/v1/messages`,
        { model: 'chat', max_tokens: 20, messages: userMessage('budget') },
        { headers: { 'x-api-key': CAROL } });
      assert.equal(anthropic.status, 429, anthropic.text);
      assert.equal(anthropic.json.type, 'error');
      assert.equal((await chat(2, 'chat')).status, 200);
    });

  test('tpm and tpd: the estimate reserved at admission is settled to the real use, over every instance',
    { timeout: 20000 }, async () => {
      let used = 0;
      for (let i = 0; i < 6; i += 1) {
        const r = await chat(i % 3, 'tokens', { maxTokens: 50 });
        assert.equal(r.status, 200, r.text);
        used += r.json.usage.total_tokens;
      }
      const id = redisKeyId('tokens', 'sq-t');
      const day = Math.floor(Date.now() / 86400000) * 86400000;  // UTC, reset hour 0
      const redisCli = (...args) => execFileSync('redis-cli', ['-p', String(redis.port), ...args],
        { encoding: 'utf8' }).trim().split('\n').filter(Boolean).map(Number);
      const minute = () => redisCli('HVALS', `bc:tpm:${id}`).reduce((a, b) => a + b, 0);
      // The settlements are not waited for: they arrive just after the answers.
      await waitFor(async () => minute() === used && redisCli('HGET', `bc:day:${id}:${day}`, 't')[0] === used,
        { timeoutMs: 5000, what: `${used} tokens in Redis (minute: ${minute()})` });
      assert.deepEqual(redisCli('HGET', `bc:day:${id}:${day}`, 'r'), [6]);
    });

  test('Redis killed: degraded, each instance serves its share of a quota or budget from its own counts',
    { timeout: 30000 }, async () => {
      await redis.stop('SIGKILL');
      for (const gw of gateways) {
        await waitFor(async () => (await health(gw)) === 'degraded', { timeoutMs: 8000, what: '/health degraded' });
      }
      // rpd 9 over three live instances: 3 each. Instance 0 alone serves 3, then refuses.
      const results = [];
      for (let i = 0; i < 5; i += 1) results.push(await chat(0, 'share'));
      assert.deepEqual(results.map((r) => r.status), [200, 200, 200, 429, 429], results.map((r) => r.text).join('\n'));
      assert.equal(await requestsOf('sq-d'), 3);
      // Another instance has a share of its own.
      assert.equal((await chat(1, 'share')).status, 200);
      assert.equal(await requestsOf('sq-d'), 4);
      // A client's budget likewise: requests_per_day 6 over three instances, 2 on each.
      const dave = [];
      for (let i = 0; i < 3; i += 1) dave.push(await chat(2, 'chat', { key: DAVE }));
      assert.deepEqual(dave.map((r) => r.status), [200, 200, 429], dave.map((r) => r.text).join('\n'));
      assert.equal(dave[2].json.error.code, 'budget_exceeded');
      assert.match(dave[2].json.error.message, /requests_per_day budget of 6/);
      assert.equal((await chat(0, 'chat', { key: DAVE })).status, 200);
    });
});
