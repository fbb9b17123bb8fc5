// Scale-out through Redis (docs/scale-out.md), against a real redis-server: the `state:`
// section, `check --connect` (a right and a wrong password, an unreachable server), what
// `serve` does when Redis is unreachable at startup (state.on_unavailable), and a reload that
// changes the section.
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { after, describe, test } from 'node:test';
import {
  gatewayConfig, mockModel, postJson, request, runGateway, startGateway, stopAll, toYaml,
  userMessage, writeConfig,
} from './harness.mjs';
import { freePort, startRedis, stopAllRedis } from './redis.mjs';

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
