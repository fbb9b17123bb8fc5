// The usage ledger end to end: one SQLite record per chat request (served or refused), written
// behind the request path; /admin/usage and `balancedcall usage` agree with what the mock
// answered; a kill -9 under load loses at most the last flush interval and leaves a store
// that passes SQLite's integrity_check; the restarted gateway goes on counting.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import {
  gatewayConfig, mockStats, openaiModel, postJson, readOpenAiStream, request, runGateway,
  startGateway, startMockllm, stopAll, toYaml, userMessage, waitFor, writeConfig, tempDir,
} from './harness.mjs';

const TOKEN = 'adm-usage-token-0123456789';
const admin = { authorization: `Bearer ${TOKEN}` };
// Issue 21 asks for 100,000 requests. On the 2-core test machine (shared, load ~13) this Node
// client drives about 1,000 requests/s (20,000 took 20.6 s), so 100,000 alone would take
// ~100 s and the file well over two minutes: 50,000 keeps the file near one minute and still
// spans some 50 flush intervals. BC_USAGE_LOAD_REQUESTS=100000 runs the full count. The
// second pass under the sanitizers (several times slower) looks for memory errors, not counts
// at scale: 10,000 requests there.
const LOAD_REQUESTS = Number(process.env.BC_USAGE_LOAD_REQUESTS ||
  (process.env.BC_SANITIZED_PASS === '1' ? 10000 : 50000));
const CLIENTS = { alice: 'ck-alice-0123456789abcdef', bob: 'ck-bob-0123456789abcdef00' };

// The sqlite3 shell (scripts/setup.sh installs it) reads the store as a second process, as an
// operator would, while the gateway may still be writing.
function sql(db, query) {
  return execFileSync('sqlite3', ['-readonly', db, query], { encoding: 'utf8' }).trim();
}

function tempStore() {
  const dir = tempDir('bc-usage-');
  return path.join(dir, 'usage.db');
}

function config(mock, db, { flush_ms = 100 } = {}) {
  return toYaml({
    ...gatewayConfig({
      chat: openaiModel(mock, [{ key: 'us-a', name: 'us-a' }, { key: 'us-b', name: 'us-b' }]),
      broken: openaiModel(mock, [{ key: 'us-bad;status=400', name: 'us-bad' }], { max_retries: 0 }),
    }),
    admin: { token: TOKEN },
    auth: { client_keys: Object.entries(CLIENTS).map(([name, key]) => ({ name, key })) },
    usage: { path: db, flush_ms },
  });
}

// Sends `count` non-streamed requests, `concurrency` at a time; resolves the tokens the mock
// reported and when each answer finished (performance.now()). `stopped()` ends it early.
async function load(gw, count, { concurrency = 32, stopped = () => false } = {}) {
  const out = { ok: 0, tokens: 0, failed: 0, doneAt: [] };
  let next = 0;
  const body = JSON.stringify({ model: 'chat', messages: userMessage('load') });
  async function worker() {
    while (next < count && !stopped()) {
      next += 1;
      try {
        const res = await fetch(`${gw.url}/v1/chat/completions`, {
          method: 'POST', body,
          headers: { authorization: `Bearer ${CLIENTS.alice}`, 'content-type': 'application/json' },
        });
        const json = await res.json();
        if (res.status !== 200) throw new Error(`${res.status}`);
        out.ok += 1;
        out.tokens += json.usage.total_tokens;
        out.doneAt.push(performance.now());
      } catch {
        out.failed += 1;
      }
    }
  }
  await Promise.all(Array.from({ length: concurrency }, worker));
  return out;
}

const chat = (gw, client, body) => postJson(`${gw.url}/v1/chat/completions`, body,
  { headers: { authorization: `Bearer ${CLIENTS[client]}` } });

describe('usage ledger', { timeout: 600000 }, () => {
  let mock;
  before(async () => { mock = await startMockllm(); });
  after(stopAll);

  test('one record per chat request; /admin/usage, the CLI and the mock agree', async () => {
    const db = tempStore();
    const file = writeConfig(config(mock, db));
    const gw = await startGateway(file);
    const before = await mockStats(mock);
    const seen = { alice: { requests: 0, tokens: 0 }, bob: { requests: 0, tokens: 0 } };
    let errors = 0;
    for (let i = 0; i < 60; ++i) {
      const client = i % 3 === 0 ? 'bob' : 'alice';
      seen[client].requests += 1;
      if (i % 10 === 9) {
        const r = await chat(gw, client, { model: 'broken', messages: userMessage() });
        assert.equal(r.status, 400, r.text);
        errors += 1;
        continue;
      }
      if (i % 2 === 0) {
        const res = await fetch(`${gw.url}/v1/chat/completions`, {
          method: 'POST',
          headers: { authorization: `Bearer ${CLIENTS[client]}`, 'content-type': 'application/json' },
          body: JSON.stringify({ model: 'chat', messages: userMessage(`stream ${i}`), stream: true,
            stream_options: { include_usage: true } }),
        });
        assert.equal(res.status, 200);
        const { usage } = (await readOpenAiStream(res)).chunks.findLast((c) => c.usage) ?? {};
        assert.ok(usage && usage.total_tokens > 0, 'the stream carried usage');
        seen[client].tokens += usage.total_tokens;
      } else {
        const r = await chat(gw, client, { model: 'chat', messages: userMessage(`plain ${i}`) });
        assert.equal(r.status, 200, r.text);
        seen[client].tokens += r.json.usage.total_tokens;
      }
    }
    // A refused call is a finished request too: recorded, without a client.
    const refused = await postJson(`${gw.url}/v1/chat/completions`, { model: 'chat', messages: userMessage() });
    assert.equal(refused.status, 401);

    const total = 61;
    const report = await waitFor(async () => {
      const r = await request(`${gw.url}/admin/usage?group_by=client`, { headers: admin });
      assert.equal(r.status, 200, r.text);
      return r.json.total.requests === total && r.json;
    }, { timeoutMs: 5000, what: 'the ledger to hold every request' });
    const byClient = Object.fromEntries(report.groups.map((g) => [g.client, g]));
    for (const name of ['alice', 'bob']) {
      assert.equal(byClient[name].requests, seen[name].requests, name);
      assert.equal(byClient[name].total_tokens, seen[name].tokens, name);
    }
    assert.equal(byClient[''].requests, 1, 'the refused call, under no client');
    assert.equal(report.total.errors, errors + 1);

    // The mock's own count of what reached it: every request but the refused one.
    const after = await mockStats(mock);
    const reached = (stats) => Object.values(stats.keys).reduce((n, k) => n + k.requests, 0);
    assert.equal(reached(after) - reached(before), total - 1);

    // Every field of a record, in the store itself.
    assert.equal(Number(sql(db, 'SELECT COUNT(*) FROM requests')), total);
    const row = sql(db, "SELECT client, route, model, key_id, provider, status, error_class, streamed, " +
      "tokens_estimated, attempts, ttft_ms IS NOT NULL FROM requests WHERE streamed = 1 LIMIT 1");
    assert.match(row, /^(alice|bob)\|\/v1\/chat\/completions\|chat\|us-[ab]\|openai\|200\|\|1\|0\|1\|1$/);
    assert.equal(sql(db, "SELECT error_class FROM requests WHERE model = 'broken' LIMIT 1"), 'client');
    assert.equal(sql(db, "SELECT error_class FROM requests WHERE status = 401"), 'auth');

    // The command line reads the same sums while the gateway runs.
    const cli = await runGateway(['usage', '--config', file, '--since', '1h', '--by', 'client', '--json']);
    assert.equal(cli.code, 0, cli.stderr);
    const lines = cli.stdout.trim().split('\n').map((l) => JSON.parse(l));
    const cliTotal = lines.find((l) => 'total' in l);
    assert.equal(cliTotal.requests, total);
    assert.equal(lines.find((l) => l.client === 'alice').total_tokens, seen.alice.tokens);
    const table = await runGateway(['usage', '--config', file, '--by', 'model']);
    assert.equal(table.code, 0, table.stderr);
    assert.match(table.stdout, /^chat\s+\d+/m);

    // Bad queries are refused with the reason.
    const bad = await request(`${gw.url}/admin/usage?group_by=week`, { headers: admin });
    assert.equal(bad.status, 400);
    assert.equal(bad.json.error.code, 'invalid_group_by');
    const open = await request(`${gw.url}/admin/usage`);
    assert.equal(open.status, 401);
    await gw.stop();
  });

  test('a key at its rpd is skipped for another, still after a restart', async () => {
    const db = tempStore();
    const file = writeConfig(toYaml({
      ...gatewayConfig({
        daily: openaiModel(mock, [{ key: 'q-a', name: 'q-a' }, { key: 'q-b', name: 'q-b' }],
          { rpd: 5, queue_timeout_ms: 200, quota_time_zone: 'America/Los_Angeles', quota_reset_hour: 0 }),
      }),
      usage: { path: db, flush_ms: 50 },
    }));
    let gw = await startGateway(file);
    const served = async () => {
      const keys = (await mockStats(mock)).keys;
      return { a: keys['q-a']?.requests ?? 0, b: keys['q-b']?.requests ?? 0 };
    };
    const before = await served();
    const call = () => postJson(`${gw.url}/v1/chat/completions`, { model: 'daily', messages: userMessage() });
    // Ten requests: each key takes its five, and the 6th for a key went to the other one.
    for (let i = 0; i < 10; ++i) {
      const r = await call();
      assert.equal(r.status, 200, `request ${i + 1}: ${r.text}`);
    }
    const after = await served();
    assert.deepEqual({ a: after.a - before.a, b: after.b - before.b }, { a: 5, b: 5 });
    // The 11th finds both keys at quota.
    const over = await call();
    assert.ok(over.status === 429 || over.status === 503, over.text);
    const capacity = await request(`${gw.url}/llm/system-capacity`);
    for (const k of capacity.json.details.daily.keys) {
      assert.equal(k.state, 'quota', JSON.stringify(k));
      assert.equal(k.quota.rpd, 5);
      assert.equal(k.quota.requests_today, 5);
      assert.ok(k.until && k.quota.resets_at, 'the reset time is shown');
      // The day ends at midnight Pacific time: 07:00 or 08:00 UTC.
      assert.match(k.quota.resets_at, /T0[78]:00:00Z$/);
    }
    const metrics = await request(`${gw.url}/metrics`);
    assert.match(metrics.text, /^bc_key_quota_remaining\{key="q-a",kind="requests",model="daily"\} 0$/m);
    assert.match(metrics.text, /^bc_key_state\{key="q-a",model="daily",state="quota"\} 1$/m);

    // A restart reads the day's counts back from the ledger: still skipped.
    await gw.stop();
    gw = await startGateway(file);
    const again = await call();
    assert.ok(again.status === 429 || again.status === 503, again.text);
    const served2 = await served();
    assert.deepEqual(served2, after, 'no key served past its quota after the restart');
    const capacity2 = await request(`${gw.url}/llm/system-capacity`);
    assert.deepEqual(capacity2.json.details.daily.keys.map((k) => k.state), ['quota', 'quota']);
    await gw.stop();
  });

  test(`${LOAD_REQUESTS} requests under load: exactly one record each, token sums equal`, async () => {
    const db = tempStore();
    const file = writeConfig(config(mock, db, { flush_ms: 1000 }));
    const gw = await startGateway(file);
    const before = await mockStats(mock);
    const started = performance.now();
    const result = await load(gw, LOAD_REQUESTS);
    const seconds = (performance.now() - started) / 1000;
    console.log(`usage ledger load: ${LOAD_REQUESTS} requests in ${seconds.toFixed(1)} s`);
    assert.equal(result.failed, 0);
    const after = await mockStats(mock);
    const reached = (stats) => (stats.keys['us-a']?.requests ?? 0) + (stats.keys['us-b']?.requests ?? 0);
    assert.equal(reached(after) - reached(before), LOAD_REQUESTS);
    // A graceful stop drains the queue: every record is in the store.
    await gw.stop();
    assert.equal(Number(sql(db, 'SELECT COUNT(*) FROM requests')), LOAD_REQUESTS);
    assert.equal(Number(sql(db, 'SELECT SUM(total_tokens) FROM requests')), result.tokens);
    assert.equal(Number(sql(db, 'SELECT SUM(requests) FROM rollup_hour')), LOAD_REQUESTS);
    assert.equal(Number(sql(db, 'SELECT SUM(total_tokens) FROM rollup_day')), result.tokens);
  });

  test('kill -9 under load loses at most a flush interval; the store is intact and counting goes on', async () => {
    const db = tempStore();
    const flushMs = 200;
    const file = writeConfig(config(mock, db, { flush_ms: flushMs }));
    let gw = await startGateway(file);
    let killed = false;
    let killedAt = 0;
    const running = load(gw, 1_000_000, { stopped: () => killed });
    await waitFor(async () => Number(sql(db, 'SELECT COUNT(*) FROM requests')) >= 2000,
      { timeoutMs: 60000, intervalMs: 100, what: '2000 records' });
    killedAt = performance.now();
    await gw.signal('SIGKILL');
    killed = true;
    const result = await running;
    const records = Number(sql(db, 'SELECT COUNT(*) FROM requests'));
    assert.equal(sql(db, 'PRAGMA integrity_check'), 'ok');
    // Every answer that finished more than one flush interval (plus the time a batch takes to
    // write, bounded here by another interval) before the kill is in the store; nothing that
    // was never answered is.
    const safe = result.doneAt.filter((t) => t < killedAt - 2 * flushMs).length;
    console.log(`kill -9: ${result.ok} answered, ${records} recorded, ${safe} answered ${2 * flushMs} ms before the kill`);
    assert.ok(records >= safe, `${records} records < ${safe} answered well before the kill`);
    assert.ok(records <= result.ok + 64, `${records} records for ${result.ok} answers`);

    gw = await startGateway(file);
    const more = await load(gw, 50, { concurrency: 5 });
    assert.equal(more.ok, 50);
    await gw.stop();
    assert.equal(Number(sql(db, 'SELECT COUNT(*) FROM requests')), records + 50);
    assert.equal(sql(db, 'PRAGMA integrity_check'), 'ok');
  });

  test('a client over tokens_per_day gets 429 budget_exceeded; others are unaffected; a restart keeps it', async () => {
    const db = tempStore();
    const carol = 'ck-carol-0123456789abcdef';
    const file = writeConfig(toYaml({
      ...gatewayConfig({ chat: openaiModel(mock, [{ key: 'us-a', name: 'us-a' }]) }),
      auth: { client_keys: [
        { name: 'alice', key: CLIENTS.alice },
        { name: 'carol', key: carol, tokens_per_day: 200 },
      ] },
      usage: { path: db, flush_ms: 50 },
    }));
    let gw = await startGateway(file);
    const ask = (key, path = '/v1/chat/completions') => postJson(`${gw.url}${path}`,
      { model: 'chat', messages: userMessage('budget'), max_tokens: 20 },
      { headers: { authorization: `Bearer ${key}` } });
    let served = 0;
    let refused;
    for (let i = 0; i < 100 && !refused; ++i) {
      const r = await ask(carol);
      if (r.status === 200) served += 1;
      else refused = r;
    }
    assert.ok(refused, 'carol was never refused');
    assert.ok(served > 0);
    assert.equal(refused.status, 429, refused.text);
    assert.equal(refused.json.error.code, 'budget_exceeded');
    assert.match(refused.json.error.message, /tokens_per_day budget of 200.*resets at \d{4}-\d\d-\d\dT00:00:00Z/);
    const retryAfter = Number(refused.headers.get('retry-after'));
    assert.ok(retryAfter > 0 && retryAfter <= 86400, `Retry-After ${retryAfter}`);
    // The native route answers the same refusal.
    const native = await ask(carol, '/llm/chat');
    assert.equal(native.status, 429);
    assert.equal(native.json.error.code, 'budget_exceeded');
    // Another client is unaffected.
    assert.equal((await ask(CLIENTS.alice)).status, 200);
    const metrics = await request(`${gw.url}/metrics`);
    assert.match(metrics.text, /^bc_client_budget_remaining\{client="carol",kind="tokens_per_day"\} \d+$/m);

    await gw.stop();
    const carolTokens = Number(sql(db, "SELECT SUM(total_tokens) FROM requests WHERE client = 'carol'"));
    assert.ok(carolTokens <= 200, `carol used ${carolTokens} tokens of 200`);
    // After a restart the day's use is read back: still refused.
    gw = await startGateway(file);
    const again = await ask(carol);
    assert.equal(again.status, 429, again.text);
    assert.equal((await ask(CLIENTS.alice)).status, 200);
    await gw.stop();
  });

  test('usage is checked with file and line, shown in /admin/config, and restart-only on reload', async () => {
    const db = tempStore();
    const bad = writeConfig(config(mock, db).replace(`flush_ms: 100`, 'flush_ms: 5'));
    const checked = await runGateway(['check', '--config', bad]);
    assert.equal(checked.code, 1);
    assert.match(checked.stderr, /balancedcall\.yaml:\d+: usage\.flush_ms: /);

    const file = writeConfig(config(mock, db));
    const gw = await startGateway(file);
    const shown = await request(`${gw.url}/admin/config`, { headers: admin });
    assert.equal(shown.json.usage.path, db);
    writeFileSync(file, readFileSync(file, 'utf8').replace('flush_ms: 100', 'flush_ms: 500'));
    const reloaded = await request(`${gw.url}/admin/reload`, { method: 'POST', headers: admin });
    assert.equal(reloaded.status, 200, reloaded.text);
    assert.match(reloaded.json.message, /changes to .*usage.* take effect only after a restart/);
    await gw.stop();
  });

  test('the ledger counts show in /metrics', async () => {
    const db = tempStore();
    const gw = await startGateway(writeConfig(config(mock, db)));
    for (let i = 0; i < 5; ++i) {
      const r = await chat(gw, 'alice', { model: 'chat', messages: userMessage() });
      assert.equal(r.status, 200);
    }
    await waitFor(async () => {
      const m = await request(`${gw.url}/metrics`);
      return /^bc_usage_records_total\{fate="written"\} 5$/m.test(m.text);
    }, { timeoutMs: 5000, what: 'bc_usage_records_total to reach 5' });
    const m = await request(`${gw.url}/metrics`);
    assert.match(m.text, /^bc_usage_records_total\{fate="dropped"\} 0$/m);
    assert.match(m.text, /^bc_usage_queue_length 0$/m);
    await gw.stop();
  });
});
