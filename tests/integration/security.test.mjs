// What each caller may see: /metrics behind admin.metrics_token, load reports cut to a
// client's models, key-exposing endpoints behind the admin token (and a config without one
// refused, on reload too), upstream error texts that echo the key scrubbed of it, and the
// startup warning of an open listener.
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { after, before, describe, test } from 'node:test';
import {
  balancedcallBin, gatewayConfig, mockModel, openaiModel, openStream, postJson, request,
  startGateway, startListening, startMockllm, stopAll, toYaml, userMessage, waitFor, writeConfig,
} from './harness.mjs';

const ADMIN = 'admin-token-security-0001';
const METRICS = 'metrics-token-security-0001';
const WIDE = 'client-wide-security-0001';
const NARROW = 'client-narrow-security-0001';
const bearer = (token) => ({ headers: { authorization: `Bearer ${token}` } });

const models = () => ({
  alpha: mockModel({ keys: [{ key: 'sk-alpha-key-0000000001', name: 'alpha-k1' }] }),
  beta: mockModel({ keys: [{ key: 'sk-beta-key-00000000001', name: 'beta-k1' }] }),
  gamma: mockModel({ keys: [{ key: 'sk-gamma-key-0000000001', name: 'gamma-k1' }] }),
});
const clients = {
  client_keys: [
    { name: 'wide', key: WIDE },
    { name: 'narrow', key: NARROW, models: ['alpha'] },
  ],
};

describe('/metrics and admin.metrics_token', { timeout: 30000 }, () => {
  after(stopAll);

  test('with a metrics token: 401 without it, 200 with it or the admin token, never a client key', async () => {
    const gw = await startGateway({
      ...gatewayConfig(models()), auth: clients, admin: { token: ADMIN, metrics_token: METRICS },
    });
    for (const opts of [{}, bearer('nope'), bearer(WIDE)]) {
      const r = await request(`${gw.url}/metrics`, opts);
      assert.equal(r.status, 401, r.text);
      assert.equal(r.json.error.code, 'invalid_metrics_token');
      assert.equal(r.headers.get('www-authenticate'), 'Bearer');
      assert.doesNotMatch(r.text, /alpha-k1|bc_/);
    }
    for (const token of [METRICS, ADMIN]) {
      const r = await request(`${gw.url}/metrics`, bearer(token));
      assert.equal(r.status, 200, r.text);
      assert.match(r.text, /alpha-k1/);
    }
    // The metrics token opens nothing else.
    assert.equal((await request(`${gw.url}/admin/config`, bearer(METRICS))).status, 401);
    assert.equal((await request(`${gw.url}/llm/system-capacity`, bearer(METRICS))).status, 401);
  });

  test('without one: open, with no client key needed, and the startup log says so', async () => {
    const gw = await startGateway({ ...gatewayConfig(models()), auth: clients });
    const r = await request(`${gw.url}/metrics`);
    assert.equal(r.status, 200, r.text);
    // (The log line is written before the listening line, but on another pipe.)
    await waitFor(() => /warning: .*auth\.client_keys is set but admin\.metrics_token is not/.test(gw.stderr),
      { what: 'the metrics warning on stderr' });
  });
});

describe('load reports show a client only its models', { timeout: 30000 }, () => {
  let gw;
  before(async () => {
    gw = await startGateway({ ...gatewayConfig(models()), auth: clients });
  });
  after(stopAll);

  test('system-capacity and system-load', async () => {
    const narrow = await request(`${gw.url}/llm/system-capacity`, bearer(NARROW));
    assert.equal(narrow.status, 200, narrow.text);
    assert.deepEqual(Object.keys(narrow.json.details), ['alpha']);
    assert.doesNotMatch(narrow.text, /beta|gamma/);
    const wide = await request(`${gw.url}/llm/system-capacity`, bearer(WIDE));
    assert.deepEqual(Object.keys(wide.json.details).sort(), ['alpha', 'beta', 'gamma']);
    for (const token of [NARROW, WIDE]) {
      const load = await request(`${gw.url}/llm/system-load`, bearer(token));
      assert.equal(load.status, 200, load.text);
      assert.equal(typeof load.json.load_percent, 'number');
    }
  });

  test('key-load of another model answers as if the model did not exist', async () => {
    const mine = await request(`${gw.url}/llm/key-load/alpha/alpha-k1`, bearer(NARROW));
    assert.equal(mine.status, 200, mine.text);
    const other = await request(`${gw.url}/llm/key-load/beta/beta-k1`, bearer(NARROW));
    const none = await request(`${gw.url}/llm/key-load/nosuch/beta-k1`, bearer(NARROW));
    assert.equal(other.status, 404, other.text);
    assert.equal(none.status, 404, none.text);
    assert.equal(other.json.error.code, none.json.error.code);
    assert.equal(other.json.error.message.replace("model 'beta'", "model 'nosuch'"), none.json.error.message);
    // A client allowed every model sees it.
    assert.equal((await request(`${gw.url}/llm/key-load/beta/beta-k1`, bearer(WIDE))).status, 200);
  });
});

describe('key-exposing endpoints always need the admin token', { timeout: 30000 }, () => {
  after(stopAll);

  test('a client key is not enough; the admin token is', async () => {
    const gw = await startGateway({
      ...gatewayConfig(models()), auth: clients, admin: { token: ADMIN, expose_keys: true },
    });
    for (const path of ['/llm/models', '/llm/keys/alpha', '/llm/model-load/alpha']) {
      for (const opts of [{}, bearer(WIDE), bearer(NARROW)]) {
        const r = await request(`${gw.url}${path}`, opts);
        assert.equal(r.status, 401, `${path}: ${r.text}`);
        assert.doesNotMatch(r.text, /sk-alpha-key/);
      }
      const ok = await request(`${gw.url}${path}`, bearer(ADMIN));
      assert.equal(ok.status, 200, `${path}: ${ok.text}`);
      // /llm/models names the models (the seed's shape); the others show the keys.
      if (path !== '/llm/models') assert.match(ok.text, /sk-alpha-key-0000000001/);
      else assert.ok(Array.isArray(ok.json) && ok.json.includes('alpha'), ok.text);
    }
  });

  test('a reload to expose_keys without a token is refused; the old config keeps serving', async () => {
    const config = { ...gatewayConfig(models()), admin: { token: ADMIN } };
    const file = writeConfig(config);
    const gw = await startGateway(file);
    writeFileSync(file, toYaml({ ...config, admin: { expose_keys: true } }));
    const r = await request(`${gw.url}/admin/reload`, { method: 'POST', ...bearer(ADMIN) });
    assert.equal(r.status, 400, r.text);
    assert.match(r.json.error.message, /admin\.expose_keys: true needs admin\.token/);
    assert.equal((await request(`${gw.url}/llm/models`)).status, 404);
    assert.equal((await request(`${gw.url}/admin/config`, bearer(ADMIN))).status, 200);
  });
});

describe('upstream errors that echo the key', { timeout: 30000 }, () => {
  // mockllm's echo_key puts the whole key, as received, in its 401 message.
  const KEYS = {
    long: 'echo-long-Abcdefghijklmnopqrstuvwxyz0123456789;echo_key',
    short: 'e8;echo_key',  // shorter than any heuristic would call a key
    punct: 'e+/=Zx9/Q+w=;echo_key',
  };
  let gw;
  before(async () => {
    const mock = await startMockllm();
    gw = await startGateway(gatewayConfig({
      long: openaiModel(mock, [KEYS.long], { max_retries: 0 }),
      short: openaiModel(mock, [KEYS.short], { max_retries: 0 }),
      punct: openaiModel(mock, [KEYS.punct], { max_retries: 0 }),
    }));
  });
  after(stopAll);

  for (const [model, key] of Object.entries(KEYS)) {
    test(`${model} key: neither the key nor its encodings reach the client`, async () => {
      // The key as sent, percent-encoded, and its name alone when long enough to tell apart.
      const forms = [key, encodeURIComponent(key), key.split(';')[0]].filter((f) => f.length >= 6);
      const r = await postJson(`${gw.url}/v1/chat/completions`, { model, messages: userMessage() });
      assert.equal(r.status, 502, r.text);
      assert.match(r.json.error.message, /answered HTTP 401: Incorrect API key provided: /);
      for (const form of forms) assert.ok(!r.text.includes(form), `${form} in ${r.text}`);
      const res = await openStream(`${gw.url}/v1/chat/completions`, { model, messages: userMessage(), stream: true });
      const text = await res.text();
      for (const form of forms) assert.ok(!text.includes(form), `${form} in ${text}`);
    });
  }
});

describe('a listener beyond loopback without client keys', { timeout: 20000 }, () => {
  after(stopAll);

  test('is warned about once at startup', async () => {
    const file = writeConfig(gatewayConfig({ alpha: models().alpha }));
    const gw = await startListening('balancedcall', balancedcallBin,
      ['serve', '--config', file, '--host', '0.0.0.0', '--port', '0']);
    const warned = (l) => /server\.host is '0\.0\.0\.0', not a loopback/.test(l);
    await waitFor(() => gw.stderr.split('\n').some(warned), { what: 'the open-relay warning' });
    const lines = gw.stderr.split('\n').filter(warned);
    assert.equal(lines.length, 1, gw.stderr);
    assert.match(lines[0], /warn/);
  });
});
