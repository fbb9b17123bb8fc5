// `balancedcall check --config FILE`: exit 0 and one summary line for a valid config; exit 1
// and `<file>:<line>: <field.path>: <message>` on stderr for each kind of error; `serve`
// refuses a config that `check` rejects. Plus ${ENV_VAR} substitution, end to end.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import {
  gatewayConfig, openaiModel, postJson, runGateway, startGateway, startMockllm, stopAll,
  userMessage, writeConfig,
} from './harness.mjs';

const escape = (s) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

// Builds a config from lines so each test knows the line of the error it plants.
const VALID = [
  'server:',                        // 1
  '  port: 9000',                   // 2
  '  shutdown_grace_ms: 2000',      // 3
  'enabled_models: [mock-fast]',    // 4
  'models:',                        // 5
  '  mock-fast:',                   // 6
  '    provider: mock',             // 7
  '    model_weight: 1',            // 8
  '    max_concurrency: 4',         // 9
  '    max_qps: 10',                // 10
  '    api_keys:',                  // 11
  '      - key: sk-check-0001',     // 12
  '        weight: 1',              // 13
  '    mock:',                      // 14
  '      latency_ms: 10',           // 15
  '',
];

const withLine = (lineNo, text) => VALID.map((l, i) => (i === lineNo - 1 ? text : l)).join('\n');
const withInserted = (afterLineNo, text) =>
  [...VALID.slice(0, afterLineNo), text, ...VALID.slice(afterLineNo)].join('\n');

describe('balancedcall check', { timeout: 60000 }, () => {
  after(stopAll);

  test('a valid config: exit 0 and a one-line summary on stdout', { timeout: 10000 }, async () => {
    const file = writeConfig(VALID.join('\n'));
    const r = await runGateway(['check', '--config', file]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout.trim().split('\n').length, 1, `one line expected: ${r.stdout}`);
    assert.ok(r.stdout.trim().length > 0);
  });

  // Each kind of error names the file, the line and the field path.
  const bad = [
    { kind: 'an unknown key', text: withInserted(10, '    max_concurency: 3'), line: 11, field: 'max_concurency' },
    { kind: 'an unknown top-level key', text: withInserted(4, 'modles: {}'), line: 5, field: 'modles' },
    { kind: 'a wrong type', text: withLine(10, '    max_qps: fast'), line: 10, field: 'max_qps' },
    { kind: 'a wrong type in a key', text: withLine(13, '        weight: heavy'), line: 13, field: 'weight' },
    { kind: 'a wrong type in server', text: withLine(2, '  port: nine'), line: 2, field: 'port' },
    // The line of the field or, for a model-level check, of the model.
    // (without the `mock:` section, which only provider mock may have)
    { kind: 'an unknown provider', text: withLine(7, '    provider: nosuch').split('\n').slice(0, 13).join('\n'),
      line: '(?:6|7)', field: 'provider' },
    { kind: 'a missing required field (provider)', text: VALID.filter((_, i) => i !== 6).join('\n'), line: null, field: 'provider' },
    { kind: 'an enabled model that is not defined', text: withLine(4, 'enabled_models: [mock-fast, ghost]'), line: 4, field: 'enabled_models' },
  ];

  for (const b of bad) {
    test(`${b.kind}: exit 1 and "<file>:<line>: <field.path>: <message>"`, { timeout: 10000 }, async () => {
      const file = writeConfig(b.text);
      const r = await runGateway(['check', '--config', file]);
      assert.equal(r.code, 1, `stdout: ${r.stdout}\nstderr: ${r.stderr}`);
      const line = b.line === null ? '\\d+' : String(b.line);
      const re = new RegExp(`^${escape(file)}:${line}: [^\\s:]*${escape(b.field)}[^\\s:]*: \\S.*$`, 'm');
      assert.match(r.stderr, re);
    });
  }

  test('a missing config file: exit 1 with a message naming it', { timeout: 10000 }, async () => {
    const r = await runGateway(['check', '--config', '/nonexistent/balancedcall.yaml']);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /\/nonexistent\/balancedcall\.yaml/);
  });

  test('serve refuses to start on a config that check rejects', { timeout: 10000 }, async () => {
    const file = writeConfig(withLine(10, '    max_qps: fast'));
    const r = await runGateway(['serve', '--config', file, '--host', '127.0.0.1', '--port', '0']);
    assert.notEqual(r.code, 0);
    assert.equal(r.signal, null, 'serve did not exit by itself');
    assert.doesNotMatch(r.stdout, /listening on/);
    assert.match(r.stderr, new RegExp(`${escape(file)}:10: [^\\s:]*max_qps`));
  });
});

// Settings that leave the gateway open: an error where raw keys would be shown to anyone, a
// warning (on stderr, exit 0) where traffic or metrics would be.
describe('check: exposure', { timeout: 60000 }, () => {
  after(stopAll);

  const openRelay = /warning: server\.host is '0\.0\.0\.0', not a loopback address, and auth\.client_keys is empty/;
  const openMetrics = /warning: auth\.client_keys is set but admin\.metrics_token is not/;
  const clients = ['auth:', '  client_keys:', '    - {name: app, key: client-key-check-0001}'];

  test('admin.expose_keys without admin.token: exit 1, naming the line and the field', { timeout: 10000 }, async () => {
    const file = writeConfig(`${VALID.join('\n')}\nadmin:\n  expose_keys: true\n`);
    const r = await runGateway(['check', '--config', file]);
    assert.equal(r.code, 1, r.stdout);
    assert.match(r.stderr, new RegExp(`^${escape(file)}:18: admin\\.expose_keys: true needs admin\\.token`, 'm'));
    // With a token it is accepted.
    const ok = writeConfig(`${VALID.join('\n')}\nadmin:\n  expose_keys: true\n  token: admin-check-token\n`);
    const accepted = await runGateway(['check', '--config', ok]);
    assert.equal(accepted.code, 0, accepted.stderr);
  });

  test('a non-loopback host without client keys: exit 0 and a warning', { timeout: 10000 }, async () => {
    const file = writeConfig(withInserted(1, '  host: 0.0.0.0'));
    const r = await runGateway(['check', '--config', file]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, new RegExp(`^${escape(file)}: ${openRelay.source}`, 'm'));
    assert.equal(r.stderr.match(/warning:/g).length, 1, r.stderr);
    assert.equal(r.stdout.trim().split('\n').length, 1, r.stdout);
  });

  test('no warning on loopback (the default) or with client keys and a metrics token', { timeout: 10000 }, async () => {
    for (const text of [
      VALID.join('\n'),
      withInserted(1, '  host: 127.0.0.1'),
      withInserted(1, '  host: localhost'),
      [...VALID, ...clients, 'admin: {metrics_token: metrics-check-token}', ''].join('\n').replace('  port: 9000', '  host: 0.0.0.0\n  port: 9000'),
    ]) {
      const r = await runGateway(['check', '--config', writeConfig(text)]);
      assert.equal(r.code, 0, r.stderr);
      assert.doesNotMatch(r.stderr, /warning/, text);
    }
  });

  test('client keys without admin.metrics_token: a warning that /metrics is open', { timeout: 10000 }, async () => {
    const file = writeConfig([...VALID, ...clients, ''].join('\n').replace('  port: 9000', '  host: 0.0.0.0\n  port: 9000'));
    const r = await runGateway(['check', '--config', file]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, openMetrics);
    assert.doesNotMatch(r.stderr, openRelay);
  });

  test('server.max_connections and max_body_bytes_in_flight are checked', { timeout: 10000 }, async () => {
    const bad = writeConfig(withInserted(2, '  max_connections: -1'));
    const r = await runGateway(['check', '--config', bad]);
    assert.equal(r.code, 1, r.stdout);
    assert.match(r.stderr, new RegExp(`^${escape(bad)}:3: server\\.max_connections: must be >= 0, got -1$`, 'm'));
    const good = writeConfig(withInserted(2, '  max_connections: 0\n  max_body_bytes_in_flight: 64MiB'));
    const ok = await runGateway(['check', '--config', good]);
    assert.equal(ok.code, 0, ok.stderr);
  });
});

describe('${ENV_VAR} substitution', { timeout: 30000 }, () => {
  let mock;
  before(async () => { mock = await startMockllm(); });
  after(stopAll);

  test('a key given as ${VAR} reaches the upstream with the variable\'s value', { timeout: 15000 }, async () => {
    const gw = await startGateway(
      gatewayConfig({ env: openaiModel(mock, ['${BC_TEST_UPSTREAM_KEY}']) }),
      { env: { BC_TEST_UPSTREAM_KEY: 'from-env-key;tokens=6' } });
    const r = await postJson(`${gw.url}/v1/chat/completions`, { model: 'env', messages: userMessage() });
    assert.equal(r.status, 200, r.text);
    assert.ok(r.json.choices[0].message.content.includes('from-env-key'), r.text);
  });

  test('check fails on an unset ${VAR}, naming the variable', { timeout: 10000 }, async () => {
    const file = writeConfig(withLine(12, '      - key: ${BC_TEST_SURELY_UNSET_VAR}'));
    assert.equal(process.env.BC_TEST_SURELY_UNSET_VAR, undefined);
    const r = await runGateway(['check', '--config', file]);
    assert.equal(r.code, 1, r.stdout);
    assert.match(r.stderr, new RegExp(`${escape(file)}:12: .*BC_TEST_SURELY_UNSET_VAR`));
  });
});
