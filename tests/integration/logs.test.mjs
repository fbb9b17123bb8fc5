// The operator's view: the application log (log.level, log.format json, log.file) and the
// access log reopened on SIGHUP for rotation without losing a line, failed requests logged
// with their fields, and the version (--version, the startup line, bc_build_info).
import assert from 'node:assert/strict';
import { existsSync, readFileSync, renameSync } from 'node:fs';
import path from 'node:path';
import { after, describe, test } from 'node:test';
import {
  gatewayConfig, mockModel, postJson, request, runGateway, startGateway, stopAll, userMessage,
  waitFor, writeConfig,
} from './harness.mjs';

const lines = (file) => (existsSync(file) ? readFileSync(file, 'utf8').split('\n').filter(Boolean) : []);
const jsonLines = (file) => lines(file).map((l) => JSON.parse(l));

describe('logs and version', { timeout: 90000 }, () => {
  after(stopAll);

  test('SIGHUP reopens the app and access logs after a rename, under load, losing no line', async () => {
    const dir = path.dirname(writeConfig('placeholder: 1\n'));
    const appLog = path.join(dir, 'app.log');
    const accessLog = path.join(dir, 'access.log');
    const config = {
      ...gatewayConfig({ m: mockModel({ latency_ms: 2, tokens_per_second: 2000 }) }),
      log: { access: accessLog, file: appLog, format: 'json', level: 'debug' },
    };
    const gw = await startGateway(config);
    assert.equal(gw.stderr, '', 'with log.file set, nothing goes to stderr');

    // Four clients, each request with its own id; every fifth names no such model (404: a
    // debug line in the app log with its request id).
    const sent = [];
    let n = 0;
    let running = true;
    const client = async () => {
      while (running) {
        const id = `rot-${n++}`;
        const missing = n % 5 === 0;
        const r = await postJson(`${gw.url}/v1/chat/completions`,
          { model: missing ? 'no-such-model' : 'm', messages: userMessage() },
          { headers: { 'x-request-id': id } });
        assert.equal(r.status, missing ? 404 : 200, r.text);
        sent.push({ id, missing });
      }
    };
    const clients = [client(), client(), client(), client()];
    await waitFor(() => sent.length >= 100, { timeoutMs: 10000, what: '100 requests before the rotation' });

    renameSync(appLog, `${appLog}.1`);
    renameSync(accessLog, `${accessLog}.1`);
    const before = sent.length;
    gw.kill('SIGHUP');
    await waitFor(() => lines(appLog).some((l) => l.includes('SIGHUP')), { timeoutMs: 5000, what: 'the SIGHUP line in the new app log' });
    await waitFor(() => sent.length >= before + 100, { timeoutMs: 10000, what: '100 requests after the rotation' });
    running = false;
    await Promise.all(clients);
    const exit = await gw.stop();
    assert.equal(exit.code, 0, gw.output());

    // The access log: every request exactly once, over the two files; both have lines.
    const oldAccess = jsonLines(`${accessLog}.1`);
    const newAccess = jsonLines(accessLog);
    assert.ok(oldAccess.length >= 100 && newAccess.length >= 1, `${oldAccess.length} + ${newAccess.length}`);
    const logged = [...oldAccess, ...newAccess].map((r) => r.request_id).sort();
    assert.deepEqual(logged, sent.map((s) => s.id).sort());

    // The app log: the startup line (with the version) in the old file, every failed request's
    // line once over both, with its fields; nothing but JSON lines.
    const oldApp = jsonLines(`${appLog}.1`);
    const newApp = jsonLines(appLog);
    assert.match(oldApp.find((l) => l.msg.includes('model(s) active')).msg, /^balancedcall \d+\.\d+\.\d+ \(/);
    const failed = [...oldApp, ...newApp].filter((l) => l.msg.startsWith('request failed'));
    assert.deepEqual(failed.map((l) => l.request_id).sort(), sent.filter((s) => s.missing).map((s) => s.id).sort());
    for (const l of failed) {
      assert.equal(l.level, 'debug');
      assert.equal(l.error, 'not_found');
      assert.match(l.ts, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
    }
    assert.ok(newApp.some((l) => l.msg.startsWith('SIGHUP: ') && l.level === 'info'), JSON.stringify(newApp));
    assert.ok(newApp.some((l) => l.msg === 'stopped'), JSON.stringify(newApp));
  });

  test('log.level warn keeps info and debug out; text lines keep their shape', async () => {
    const file = path.join(path.dirname(writeConfig('placeholder: 1\n')), 'app.log');
    const gw = await startGateway({ ...gatewayConfig({ m: mockModel() }), log: { file, level: 'warn' } });
    const r = await postJson(`${gw.url}/v1/chat/completions`, { model: 'nope', messages: userMessage() });
    assert.equal(r.status, 404);
    await gw.stop();
    assert.deepEqual(lines(file), [], 'no warning or error happened');

    const gw2 = await startGateway({ ...gatewayConfig({ m: mockModel() }), log: { file, level: 'info' } });
    await gw2.stop();
    const text = lines(file);
    assert.match(text[0], /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3} info balancedcall \d+\.\d+\.\d+ \(/);
    assert.match(text.at(-1), / info stopped$/);
  });

  test('a log.file that cannot be opened ends serve with exit 1 and says why', async () => {
    const config = writeConfig({ ...gatewayConfig({ m: mockModel() }), log: { file: '/nonexistent-dir/app.log' } });
    const r = await runGateway(['serve', '--config', config, '--port', '0']);
    assert.equal(r.code, 1, r.stderr);
    assert.match(r.stderr, /log\.file: cannot open '\/nonexistent-dir\/app\.log'/);
  });

  test('--version, the startup line and bc_build_info agree', async () => {
    const v = await runGateway(['--version']);
    assert.equal(v.code, 0, v.stderr);
    const m = /^balancedcall (\d+\.\d+\.\d+) \(([0-9a-f]{12}(?:-dirty)?|unknown)\)\n$/.exec(v.stdout);
    assert.ok(m, v.stdout);
    const gw = await startGateway(null);
    assert.ok(gw.stderr.includes(`balancedcall ${m[1]} (${m[2]}): `), gw.stderr);
    const metrics = await request(`${gw.url}/metrics`);
    assert.ok(metrics.text.includes(`bc_build_info{revision="${m[2]}",version="${m[1]}"} 1`), metrics.text);
  });
});
