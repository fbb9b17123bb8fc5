// Hot reload, on SIGHUP and on POST /admin/reload: an invalid config is refused and the old one
// keeps serving; a valid one is swapped in while traffic runs, with no request failing; keys
// present in both configs keep their live state (a cooldown survives), and a quarantined key
// comes back, since a reload is how an operator says "fixed".
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { after, before, describe, test } from 'node:test';
import {
  gatewayConfig, mockStats, openAiError, openaiModel, postJson, request, sleep, startGateway,
  startMockllm, stopAll, toYaml, userMessage, waitFor, writeConfig,
} from './harness.mjs';

const TOKEN = 'adm-reload-token-0123456789';
const MESSAGES = userMessage('hello there');
const admin = { authorization: `Bearer ${TOKEN}` };

describe('hot reload', { timeout: 120000 }, () => {
  let mock;
  let gw;
  let file;

  // The config in force: a steady model for the load, one whose key gets rate limited, one
  // whose key is refused (401) by its upstream until the config points it elsewhere.
  function config({ extraModel = false, refusedKey = 'rl-refused;status=401' } = {}) {
    const models = {
      steady: openaiModel(mock, [{ key: 'rl-a;latency=20', name: 'rl-a' }, { key: 'rl-b;latency=20', name: 'rl-b' }]),
      limited: openaiModel(mock, [{ key: 'rl-429;status=429;retry_after=30', name: 'rl-429' },
        { key: 'rl-ok', name: 'rl-ok' }], { max_retries: 1 }),
      refused: openaiModel(mock, [{ key: refusedKey, name: 'rl-refused' }, { key: 'rl-spare', name: 'rl-spare' }],
        { max_retries: 1 }),
    };
    if (extraModel) models.added = openaiModel(mock, [{ key: 'rl-new', name: 'rl-new' }]);
    return toYaml({ ...gatewayConfig(models), admin: { token: TOKEN } });
  }

  const reload = () => request(`${gw.url}/admin/reload`, { method: 'POST', headers: admin });
  const chat = (model) => postJson(`${gw.url}/v1/chat/completions`, { model, messages: MESSAGES });
  async function keyState(model, id) {
    const r = await request(`${gw.url}/llm/system-capacity`);
    return r.json.details[model].keys.find((k) => k.key === id).state;
  }

  before(async () => {
    mock = await startMockllm();
    file = writeConfig('models: {}\n');
    writeFileSync(file, config());
    gw = await startGateway(file);
  });
  after(stopAll);

  test('POST /admin/reload needs the admin token', async () => {
    const r = await request(`${gw.url}/admin/reload`, { method: 'POST' });
    assert.equal(r.status, 401, r.text);
  });

  test('an invalid config is refused with its error, and the old one keeps serving', async () => {
    writeFileSync(file, config().replace('max_retries: 1', 'max_retries: "many"'));
    const r = await reload();
    assert.equal(r.status, 400, r.text);
    const e = openAiError(r);
    assert.equal(e.code, 'invalid_config');
    assert.match(e.message, /keeps serving/);
    assert.match(e.message, /max_retries/);
    assert.match(e.message, /:\d+:/, 'the error names the line');
    assert.equal((await chat('steady')).status, 200);
    writeFileSync(file, config());
  });

  test('a cooling key stays cooling and a quarantined key comes back after a reload', async () => {
    // Rate limit one key and get another refused.
    for (let i = 0; i < 6 && await keyState('limited', 'rl-429') === 'ok'; i++) assert.equal((await chat('limited')).status, 200);
    for (let i = 0; i < 6 && await keyState('refused', 'rl-refused') === 'ok'; i++) assert.equal((await chat('refused')).status, 200);
    assert.equal(await keyState('limited', 'rl-429'), 'cooling');
    assert.equal(await keyState('refused', 'rl-refused'), 'quarantined');
    const refusedBefore = (await mockStats(mock)).keys['rl-refused'].requests;

    // The operator fixes the refused key (here: the mock stops refusing it) and reloads.
    writeFileSync(file, config({ extraModel: true, refusedKey: 'rl-refused' }));
    const r = await reload();
    assert.equal(r.status, 200, r.text);
    assert.equal(r.json.reloaded, true);
    assert.match(r.json.message, /4 model\(s\)/);
    assert.equal((await chat('added')).status, 200, 'the new model serves');
    assert.equal(await keyState('limited', 'rl-429'), 'cooling', 'a cooldown must survive a reload');
    // A changed secret is a new key: it starts ok and gets traffic.
    assert.equal(await keyState('refused', 'rl-refused'), 'ok');
    for (let i = 0; i < 20 && (await mockStats(mock)).keys['rl-refused'].requests === refusedBefore; i++) {
      assert.equal((await chat('refused')).status, 200);
    }
    assert.ok((await mockStats(mock)).keys['rl-refused'].requests > refusedBefore);
  });

  test('a quarantined key whose config did not change is forgiven by the reload', async () => {
    writeFileSync(file, config({ refusedKey: 'rl-refused;status=401' }));
    assert.equal((await reload()).status, 200);
    for (let i = 0; i < 10 && await keyState('refused', 'rl-refused') === 'ok'; i++) await chat('refused');
    assert.equal(await keyState('refused', 'rl-refused'), 'quarantined');
    assert.equal((await reload()).status, 200);  // same file: the operator says "try again"
    assert.equal(await keyState('refused', 'rl-refused'), 'ok');
  });

  test('10 reloads (SIGHUP and POST, one invalid) under steady load: no request fails', async () => {
    let stop = false;
    const failures = [];
    let served = 0;
    const client = async () => {
      while (!stop) {
        const stream = served % 3 === 0;
        const r = await postJson(`${gw.url}/v1/chat/completions`, { model: 'steady', stream, messages: MESSAGES });
        if (r.status !== 200 || (stream && !r.text.includes('[DONE]'))) failures.push(`${r.status} ${r.text.slice(0, 200)}`);
        served++;
      }
    };
    const clients = Array.from({ length: 8 }, client);
    for (let i = 0; i < 10; i++) {
      await sleep(150);
      if (i === 4) {
        writeFileSync(file, 'models: [');
        assert.equal((await reload()).status, 400);
        writeFileSync(file, config({ extraModel: i % 2 === 0 }));
      } else if (i % 2 === 0) {
        writeFileSync(file, config({ extraModel: true }));
        assert.equal((await reload()).status, 200);
      } else {
        writeFileSync(file, config());
        gw.kill('SIGHUP');
        await waitFor(() => gw.stderr.split('SIGHUP: reloaded').length - 1 >= (i + 1) / 2,
          { timeoutMs: 3000, what: 'the SIGHUP reload in the log' });
      }
    }
    await sleep(150);
    stop = true;
    await Promise.all(clients);
    assert.deepEqual(failures, []);
    assert.ok(served >= 50, `only ${served} requests ran`);
    assert.equal(gw.exitInfo, null, 'the gateway is still running');
  });
});
