// TLS on both sides of the gateway, with a self-signed certificate made by the openssl CLI at
// the start:
// - upstream: mockllm serving HTTPS is refused by default (502 naming the certificate
//   problem, the key left usable), accepted with the model's `tls_verify: false` (which does
//   not leak to another model on the same origin), and accepted with a `ca_file` (per model or
//   `upstream.ca_file`);
// - listener: with `server.tls` the gateway serves /v1/chat/completions (whole and streamed,
//   keep-alive) over HTTPS to a Node client trusting the certificate, and a bad cert/key pair
//   is a clear startup error.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import https from 'node:https';
import { tmpdir } from 'node:os';
import path from 'node:path';
import {
  gatewayConfig, makeCertificate, mockModel, openaiModel, openAiError, postJson, request,
  runGateway, startGateway, startMockllm, stopAll, userMessage, writeConfig,
} from './harness.mjs';

let dir;
let certFile;
let keyFile;
let certPem;
let mock;  // mockllm over HTTPS with the self-signed certificate


before(async () => {
  dir = mkdtempSync(path.join(tmpdir(), 'bc-tls-'));
  ({ cert: certFile, key: keyFile } = makeCertificate(dir));
  certPem = readFileSync(certFile, 'utf8');
  mock = await startMockllm(['--tls-cert', certFile, '--tls-key', keyFile]);
  assert.match(mock.url, /^https:\/\/127\.0\.0\.1:\d+$/);
});

after(async () => {
  await stopAll();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

const chat = (gw, model, opts = {}) =>
  postJson(`${gw.url}/v1/chat/completions`, { model, messages: userMessage(), ...opts });

describe('TLS to upstreams', () => {
  test('a self-signed upstream is refused by default: 502 naming the certificate, key kept', async () => {
    const gw = await startGateway(gatewayConfig({ strict: openaiModel(mock, ['k1']) }));
    try {
      for (let i = 0; i < 2; i++) {
        const res = await chat(gw, 'strict');
        assert.equal(res.status, 502, res.text);
        const e = openAiError(res);
        assert.equal(e.code, 'tls_certificate_invalid');
        assert.match(e.message, /TLS handshake with 127\.0\.0\.1:\d+ failed: certificate verify failed/);
        assert.match(e.message, /self-signed certificate/);
        assert.match(e.message, /tls_verify: false/);
      }
      // The key was not blamed: it is not disabled or cooling, so the second request above
      // failed on the certificate again instead of on "no usable key".
      const metrics = await request(`${gw.url}/metrics`);
      assert.match(metrics.text, /bc_key_state\{[^}]*model="strict"[^}]*state="ok"[^}]*\} 1/);
      assert.equal(gw.stderr.includes('-----BEGIN'), false);
    } finally {
      await gw.stop();
    }
  });

  test('tls_verify: false accepts it for that model only, not for another on the same origin', async () => {
    const gw = await startGateway(gatewayConfig({
      local: openaiModel(mock, ['k-local'], { tls_verify: false }),
      strict: openaiModel(mock, ['k-strict']),
    }));
    try {
      const ok = await chat(gw, 'local');
      assert.equal(ok.status, 200, ok.text);
      assert.equal(ok.json.choices[0].message.content, 'Hello from gpt-4o-mini via k-local');
      // The unverified connection to the same origin is pooled now; the verifying model must
      // not be handed it.
      const refused = await chat(gw, 'strict');
      assert.equal(refused.status, 502, refused.text);
      assert.equal(openAiError(refused).code, 'tls_certificate_invalid');
      const again = await chat(gw, 'local', { stream: false });
      assert.equal(again.status, 200, again.text);
    } finally {
      await gw.stop();
    }
  });

  test('a model ca_file trusts it, for whole and streamed answers', async () => {
    const gw = await startGateway(gatewayConfig({ trusted: openaiModel(mock, ['k1'], { ca_file: certFile }) }));
    try {
      const ok = await chat(gw, 'trusted');
      assert.equal(ok.status, 200, ok.text);
      assert.equal(ok.json.choices[0].message.content, 'Hello from gpt-4o-mini via k1');
      const streamed = await chat(gw, 'trusted', { stream: true });
      assert.equal(streamed.status, 200, streamed.text);
      assert.match(streamed.text, /data: \[DONE\]/);
      assert.match(streamed.text, /"content":" via"/);
    } finally {
      await gw.stop();
    }
  });

  test('upstream.ca_file trusts it for every model', async () => {
    const gw = await startGateway(gatewayConfig({ a: openaiModel(mock, ['k1']) }, { upstream: { ca_file: certFile } }));
    try {
      const ok = await chat(gw, 'a');
      assert.equal(ok.status, 200, ok.text);
    } finally {
      await gw.stop();
    }
  });

  test('a CA file that is not PEM is a startup error naming the field', async () => {
    const junk = path.join(dir, 'junk-ca.pem');
    writeFileSync(junk, 'not a certificate\n');
    const config = writeConfig(gatewayConfig({ a: openaiModel(mock, ['k1'], { ca_file: junk }) }));
    const r = await runGateway(['serve', '--config', config, '--host', '127.0.0.1', '--port', '0']);
    assert.equal(r.code, 1, r.stdout + r.stderr);
    assert.match(r.stderr, /models\.a\.ca_file: cannot load the CA file '.*junk-ca\.pem'/);
  });
});

// A POST over HTTPS with `agent`; resolves {status, headers, text, reusedSocket}.
function httpsPost(url, body, agent) {
  return new Promise((resolve, reject) => {
    const req = https.request(url, {
      method: 'POST', agent, headers: { 'content-type': 'application/json' }, timeout: 10000,
    }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (d) => { text += d; });
      res.on('end', () => resolve({ status: res.statusCode, headers: res.headers, text, reusedSocket: req.reusedSocket }));
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error('request timed out')));
    req.on('error', reject);
    req.end(JSON.stringify(body));
  });
}

describe('TLS on the listener', () => {
  let gw;
  let agent;

  before(async () => {
    gw = await startGateway(gatewayConfig(
      { m: mockModel({ reply: 'over tls', latency_ms: 5 }) },
      { server: { tls: { cert_file: certFile, key_file: keyFile } } }));
    agent = new https.Agent({ ca: certPem, keepAlive: true, maxSockets: 1 });
  });

  after(async () => {
    agent?.destroy();
    await gw?.stop();
  });

  test('announces https and serves a whole chat completion', async () => {
    assert.match(gw.stdout, /balancedcall listening on https:\/\/127\.0\.0\.1:\d+/);
    assert.match(gw.url, /^https:/);
    const res = await httpsPost(`${gw.url}/v1/chat/completions`, { model: 'm', messages: userMessage() }, agent);
    assert.equal(res.status, 200, res.text);
    assert.equal(JSON.parse(res.text).choices[0].message.content, 'over tls');
  });

  test('streams SSE over TLS and keeps the connection alive', async () => {
    const res = await httpsPost(`${gw.url}/v1/chat/completions`,
      { model: 'm', messages: userMessage(), stream: true }, agent);
    assert.equal(res.status, 200, res.text);
    assert.match(res.headers['content-type'], /text\/event-stream/);
    const events = res.text.split('\n\n').filter((b) => b.startsWith('data: '));
    assert.equal(events.at(-1), 'data: [DONE]');
    const content = events.slice(0, -1).map((e) => JSON.parse(e.slice(6)).choices[0]?.delta?.content ?? '').join('');
    assert.equal(content, 'over tls');
    assert.equal(res.reusedSocket, true, 'the keep-alive TLS connection of the first test was reused');
  });

  test('a client that does not trust the certificate cannot talk to it', async () => {
    const strictAgent = new https.Agent({ keepAlive: false });
    try {
      await assert.rejects(
        httpsPost(`${gw.url}/v1/chat/completions`, { model: 'm', messages: userMessage() }, strictAgent),
        (err) => /self[- ]signed|certificate/i.test(err.message) || /SELF_SIGNED/.test(err.code ?? ''));
    } finally {
      strictAgent.destroy();
    }
  });

  test('plain HTTP to the TLS port gets no answer', async () => {
    await assert.rejects(request(`${gw.url.replace('https:', 'http:')}/health`, { timeoutMs: 3000 }));
  });

  test('a key that does not match the certificate is a startup error', async () => {
    const other = makeCertificate(mkdtempSync(path.join(dir, 'other-')));
    const config = writeConfig(gatewayConfig({ m: mockModel() },
      { server: { tls: { cert_file: certFile, key_file: other.key } } }));
    const r = await runGateway(['serve', '--config', config, '--host', '127.0.0.1', '--port', '0']);
    assert.equal(r.code, 1, r.stdout + r.stderr);
    assert.match(r.stderr, /server\.tls: the TLS private key '.*' does not match the certificate/);
    assert.equal(r.stdout.includes('listening'), false);
  });

  test('a missing certificate file is a config error naming file, line and field', async () => {
    const config = writeConfig(gatewayConfig({ m: mockModel() },
      { server: { tls: { cert_file: path.join(dir, 'missing.pem'), key_file: keyFile } } }));
    const r = await runGateway(['check', '--config', config]);
    assert.equal(r.code, 1, r.stdout + r.stderr);
    assert.match(r.stderr, /balancedcall\.yaml:\d+: server\.tls\.cert_file: cannot read '.*missing\.pem': No such file or directory/);
  });
});
