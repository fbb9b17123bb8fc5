// Issue 21's crash guarantee: kill -9 under load never lets a key's daily quota or a client's
// budget be exceeded. Records reach the store up to a flush interval late and calls in flight
// have none yet, so the records alone undercount after a crash; the ledger's allowance marks
// (usage/allowance.h) are made durable ahead of admission and read back beside them. This
// test drives a key with rpd and a client with requests_per_day past a kill -9 and counts, at
// the mock, what really reached the upstream over both lives of the gateway.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import {
  gatewayConfig, mockStats, openaiModel, postJson, startGateway, startMockllm, stopAll, toYaml,
  userMessage, waitFor, writeConfig, tempDir,
} from './harness.mjs';

const RPD = 60;
const DAVE = 'ck-dave-0123456789abcdef0';
const ALICE = 'ck-alice-0123456789abcdef';

function sql(db, query) {
  return execFileSync('sqlite3', ['-readonly', db, query], { encoding: 'utf8' }).trim();
}

describe('usage ledger: a crash never exceeds a quota or a budget', { timeout: 180000 }, () => {
  let mock;
  before(async () => { mock = await startMockllm(); });
  after(stopAll);

  test('kill -9 under load, then a restart: the key and the client stay within their day', async () => {
    const db = path.join(tempDir('bc-crash-'), 'usage.db');
    // latency keeps calls in flight at the kill; flush_ms 1000 leaves up to a second of records
    // unwritten: both are what a crash loses.
    const file = writeConfig(toYaml({
      ...gatewayConfig({
        daily: openaiModel(mock, [{ key: 'cr-quota;latency=40', name: 'cr-quota' }],
          { rpd: RPD, queue_timeout_ms: 200 }),
        free: openaiModel(mock, [{ key: 'cr-free;latency=40', name: 'cr-free' }]),
      }),
      auth: { client_keys: [
        { name: 'alice', key: ALICE },
        { name: 'dave', key: DAVE, requests_per_day: RPD },
      ] },
      usage: { path: db, flush_ms: 1000 },
    }));
    const served = async () => {
      const keys = (await mockStats(mock)).keys;
      return { quota: keys['cr-quota']?.requests ?? 0, free: keys['cr-free']?.requests ?? 0 };
    };
    const start = await served();
    let gw = await startGateway(file);
    let stop = false;
    const outcomes = {};
    const drive = async (model, client) => {
      while (!stop) {
        const r = await postJson(`${gw.url}/v1/chat/completions`,
          { model, messages: userMessage('crash') },
          { headers: { authorization: `Bearer ${client}` } }).catch(() => ({ status: 'reset' }));
        outcomes[r.status] = (outcomes[r.status] ?? 0) + 1;
        if (r.status !== 200 && r.status !== 'reset') await new Promise((res) => setTimeout(res, 20));
      }
    };
    // Alice (no budget) on the key with rpd; dave (requests_per_day) on a key without one.
    const workers = [
      ...Array.from({ length: 6 }, () => drive('daily', ALICE)),
      ...Array.from({ length: 6 }, () => drive('free', DAVE)),
    ];
    // Kill once both have used about half their day, mid-flush-interval.
    await waitFor(async () => {
      const s = await served();
      return s.quota - start.quota >= RPD / 2 && s.free - start.free >= RPD / 2;
    }, { timeoutMs: 60000, intervalMs: 10, what: 'half of the day used' });
    await gw.signal('SIGKILL');
    stop = true;
    await Promise.all(workers);
    assert.equal(sql(db, 'PRAGMA integrity_check'), 'ok');
    const atKill = await served();
    const recorded = Number(sql(db, "SELECT COUNT(*) FROM requests WHERE key_id = 'cr-quota'"));
    console.log(`kill -9: the mock served ${atKill.quota - start.quota} on the quota key ` +
      `(${recorded} recorded) and ${atKill.free - start.free} for dave`);

    // The second life: ask well past both limits, one call at a time.
    gw = await startGateway(file);
    let refusedQuota = 0;
    let refusedBudget = 0;
    for (let i = 0; i < RPD; ++i) {
      const q = await postJson(`${gw.url}/v1/chat/completions`, { model: 'daily', messages: userMessage('after') },
        { headers: { authorization: `Bearer ${ALICE}` } });
      if (q.status !== 200) refusedQuota += 1;
      const b = await postJson(`${gw.url}/v1/chat/completions`, { model: 'free', messages: userMessage('after') },
        { headers: { authorization: `Bearer ${DAVE}` } });
      if (b.status !== 200) {
        assert.equal(b.status, 429, b.text);
        assert.equal(b.json.error.code, 'budget_exceeded');
        refusedBudget += 1;
      }
    }
    const end = await served();
    const quotaUsed = end.quota - start.quota;
    const daveUsed = end.free - start.free;
    console.log(`after the restart: quota key ${quotaUsed} of ${RPD} in all, dave ${daveUsed} of ${RPD}`);
    assert.ok(quotaUsed <= RPD, `the key with rpd ${RPD} reached the upstream ${quotaUsed} times`);
    assert.ok(daveUsed <= RPD, `dave (requests_per_day ${RPD}) reached the upstream ${daveUsed} times`);
    assert.ok(refusedQuota > 0 && refusedBudget > 0, 'both limits were reached after the restart');

    // A clean stop writes the exact counts: the next life counts exactly what was used.
    await gw.stop();
    gw = await startGateway(file);
    const capacity = await postJson(`${gw.url}/v1/chat/completions`, { model: 'daily', messages: userMessage('x') },
      { headers: { authorization: `Bearer ${ALICE}` } });
    assert.notEqual(capacity.status, 200, 'the key is still at its quota after a clean restart');
    await gw.stop();
  });

  test('a clean restart counts exactly: the marks do not eat into the day', async () => {
    const db = path.join(tempDir('bc-clean-'), 'usage.db');
    const file = writeConfig(toYaml({
      ...gatewayConfig({
        daily: openaiModel(mock, [{ key: 'cl-quota', name: 'cl-quota' }], { rpd: 10, queue_timeout_ms: 100 }),
      }),
      auth: { client_keys: [{ name: 'erin', key: ALICE, requests_per_day: 10 }] },
      usage: { path: db, flush_ms: 50 },
    }));
    const call = (gw) => postJson(`${gw.url}/v1/chat/completions`, { model: 'daily', messages: userMessage('c') },
      { headers: { authorization: `Bearer ${ALICE}` } });
    let gw = await startGateway(file);
    for (let i = 0; i < 4; ++i) assert.equal((await call(gw)).status, 200);
    await gw.stop();
    // Restarted twice: the four used stay four; six more are served, then the eleventh is not.
    gw = await startGateway(file);
    await gw.stop();
    gw = await startGateway(file);
    for (let i = 0; i < 6; ++i) {
      const r = await call(gw);
      assert.equal(r.status, 200, `call ${i + 5}: ${r.text}`);
    }
    const over = await call(gw);
    assert.equal(over.status, 429, over.text);
    await gw.stop();
    const marks = sql(db, "SELECT scope || ' ' || name || ' ' || requests FROM allowance ORDER BY 1");
    assert.match(marks, /client:day erin 10/);
    assert.match(marks, /key:daily cl-quota 10/);
  });
});
