// `balancedcall probe`: one minimal request through each key, a table of what each answered,
// exit status 0 only when every key works.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import {
  gatewayConfig, mockProviders, mockReset, mockStats, openaiModel, providerModel, runGateway,
  startMockllm, stopAll, writeConfig,
} from './harness.mjs';

describe('balancedcall probe', { timeout: 60000 }, () => {
  let mock;
  before(async () => { mock = await startMockllm(); });
  after(stopAll);

  test('prints one row per key with its status and classified error, and exits 1', async () => {
    const file = writeConfig(gatewayConfig({
      gpt: openaiModel(mock, [
        { key: 'pr-good', name: 'pr-good' },
        { key: 'pr-429;status=429;retry_after=20', name: 'pr-limited' },
        { key: 'pr-401;status=401', name: 'pr-refused' },
        { key: 'pr-500;status=500', name: 'pr-broken' },
      ]),
      claude: providerModel(mock, 'anthropic', [{ key: 'pr-claude', name: 'pr-claude' }]),
    }));
    await mockReset(mock);
    const r = await runGateway(['probe', '--config', file]);
    assert.equal(r.code, 1, r.stdout + r.stderr);
    const lines = r.stdout.trim().split('\n');
    assert.match(lines[0], /^MODEL\s+KEY\s+STATUS\s+LATENCY\s+RESULT$/);
    const row = (key) => lines.find((l) => l.includes(` ${key} `)) ?? assert.fail(`no row for ${key}:\n${r.stdout}`);
    assert.match(row('pr-good'), /^gpt\s+pr-good\s+ok\s+\d+ ms\s+"Hello from/);
    assert.match(row('pr-limited'), /429 .*rate_limit.*key cools down 20 s/);
    assert.match(row('pr-refused'), /HTTP 401.*key quarantined/);
    assert.match(row('pr-broken'), /HTTP 500.*breaker/);
    assert.match(row('pr-claude'), /^claude\s+pr-claude\s+ok/);
    // Exactly one request per key, and no secret in the output.
    const stats = (await mockStats(mock)).keys;
    for (const k of ['pr-good', 'pr-429', 'pr-401', 'pr-500', 'pr-claude']) assert.equal(stats[k]?.requests, 1, k);
    assert.ok(!r.stdout.includes('status=401'), 'a raw key was printed');
  });

  test('--model probes one model; all keys working exits 0', async () => {
    const file = writeConfig(gatewayConfig({
      gpt: openaiModel(mock, [{ key: 'pr-bad;status=500', name: 'pr-bad' }]),
      zhipu: providerModel(mock, 'zhipu', [{ key: 'pr-z1', name: 'pr-z1' }, { key: 'pr-z2', name: 'pr-z2' }]),
    }));
    const r = await runGateway(['probe', '--config', file, '--model', 'zhipu']);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    const rows = r.stdout.trim().split('\n').slice(1);
    assert.equal(rows.length, 2, r.stdout);
    for (const l of rows) assert.match(l, /^zhipu\s+pr-z\d\s+ok/);
  });

  test('an embedding model is probed with an embeddings call', async () => {
    const file = writeConfig(gatewayConfig({
      emb: providerModel(mock, 'gemini', [{ key: 'pr-emb', name: 'pr-emb' }, { key: 'pr-emb-bad;status=500', name: 'pr-emb-bad' }],
        { model: 'gemini-embedding-001', embeddings: true }),
    }));
    await mockReset(mock);
    const r = await runGateway(['probe', '--config', file]);
    assert.equal(r.code, 1, r.stdout + r.stderr);
    const lines = r.stdout.trim().split('\n');
    assert.match(lines.find((l) => l.includes(' pr-emb ')), /^emb\s+pr-emb\s+ok\s+\d+ ms\s+a vector of 16 numbers/);
    assert.match(lines.find((l) => l.includes(' pr-emb-bad ')), /500/);
    const stats = (await mockStats(mock)).keys;
    assert.equal(stats['pr-emb']?.requests, 1);
  });

  test('an unknown --model is an error naming it', async () => {
    const file = writeConfig(gatewayConfig({ gpt: openaiModel(mock, ['pr-x']) }));
    const r = await runGateway(['probe', '--config', file, '--model', 'nope']);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /no model 'nope'/);
  });
});
