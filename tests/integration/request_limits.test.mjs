// What a client can make the gateway hold, and for how long:
// - the client key (and the admin token on /admin/*) is checked from the request head, before
//   100 Continue and before one byte of the body is read: unauthenticated bodies cost nothing;
// - server.max_connections and server.max_body_bytes_in_flight answer 503 beyond them;
// - a non-streamed answer that trickles in a byte at a time ends at the request's deadline
//   with 504, instead of holding the request (and its key's slot) for as long as it trickles.
import { test, describe, after } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { readFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';

import {
  startGateway, stopAll, gatewayConfig, mockModel, postJson, request, userMessage, waitFor,
} from './harness.mjs';

after(stopAll);

const clientKey = 'client-key-request-limits-0001';
const chatBody = JSON.stringify({ model: 'm', messages: userMessage('hello') });

function rssKb(pid) {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  return Number(/VmRSS:\s+(\d+) kB/.exec(status)[1]);
}

// A raw connection: writes `head` (and `body`, if any) and collects what comes back.
function rawConnection(url, { head, body } = {}) {
  const { port } = new URL(url);
  const socket = net.connect(Number(port), '127.0.0.1');
  const conn = { socket, received: '', closed: false, error: null };
  socket.setEncoding('latin1');
  socket.on('data', (d) => { conn.received += d; });
  socket.on('error', (e) => { conn.error = e; });
  socket.on('close', () => { conn.closed = true; });
  conn.ready = new Promise((resolve) => socket.once('connect', resolve));
  if (head) socket.write(head);
  if (body) socket.write(body);
  conn.waitFor = (pattern, timeoutMs = 5000) =>
    waitFor(() => pattern.test(conn.received), { timeoutMs, what: `${pattern} on a raw connection (got ${JSON.stringify(conn.received.slice(0, 300))})` });
  return conn;
}

const chatHead = (key, length, extra = '') =>
  `POST /v1/chat/completions HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer ${key}\r\n` +
  `Content-Type: application/json\r\nContent-Length: ${length}\r\n${extra}\r\n`;

describe('the client key is checked before the body is read', { timeout: 60000 }, () => {
  test('50 connections sending most of a large body with a wrong key get 401 at once; memory stays near idle', async () => {
    const config = gatewayConfig({ m: mockModel() }, { server: { max_body_bytes: 8 * 1024 * 1024 } });
    config.auth = { client_keys: [{ name: 'app', key: clientKey }] };
    const gw2 = await startGateway(config);
    await postJson(`${gw2.url}/v1/chat/completions`, JSON.parse(chatBody), { headers: { authorization: `Bearer ${clientKey}` } });
    const idle = rssKb(gw2.pid);

    const big = 8 * 1024 * 1024 - 1024;
    const part = Buffer.alloc(6 * 1024 * 1024, 'a');
    const conns = [];
    for (let i = 0; i < 50; i++) {
      conns.push(rawConnection(gw2.url, { head: chatHead('not-the-client-key-0000000000', big), body: part }));
    }
    await Promise.all(conns.map((c) => c.waitFor(/^HTTP\/1\.1 401 [^]*invalid_api_key/, 15000)));
    const peak = rssKb(gw2.pid);
    for (const c of conns) {
      assert.match(c.received, /Connection: close/i);
      assert.doesNotMatch(c.received, /100 Continue/);
    }
    // The refused connections are closed by the gateway within its linger time.
    await waitFor(() => conns.every((c) => c.closed), { timeoutMs: 8000, what: 'the refused connections closed' });
    // A few MB in a release build; AddressSanitizer's shadow memory and quarantine of freed
    // blocks grow RSS by themselves, so the sanitizer pass gets a looser bound.
    const allowedKb = process.env.ASAN_OPTIONS ? 64 * 1024 : 8 * 1024;
    assert.ok(peak - idle < allowedKb, `RSS grew from ${idle} kB to ${peak} kB while 50 x 6 MB of unauthenticated body arrived`);
    // And the gateway still serves.
    const ok = await postJson(`${gw2.url}/v1/chat/completions`, JSON.parse(chatBody), { headers: { authorization: `Bearer ${clientKey}` } });
    assert.equal(ok.status, 200, ok.text);
  });

  test('Expect: 100-continue with a wrong key: 401, never 100 Continue', async () => {
    const config = gatewayConfig({ m: mockModel() });
    config.auth = { client_keys: [{ name: 'app', key: clientKey }] };
    const gw = await startGateway(config);
    const c = rawConnection(gw.url, { head: chatHead('wrong-key-0000000000000000', 1000, 'Expect: 100-continue\r\n') });
    await c.waitFor(/^HTTP\/1\.1 401 /);
    assert.doesNotMatch(c.received, /100 Continue/);
    // With the right key the client is told to go on, and is served.
    const ok = rawConnection(gw.url, { head: chatHead(clientKey, Buffer.byteLength(chatBody), 'Expect: 100-continue\r\n') });
    await ok.waitFor(/^HTTP\/1\.1 100 Continue\r\n\r\n/);
    ok.socket.write(chatBody);
    await ok.waitFor(/HTTP\/1\.1 200 OK[^]*chat\.completion/);
    ok.socket.destroy();
  });

  test('the admin endpoints refuse a wrong token before the body too', async () => {
    const config = gatewayConfig({ m: mockModel() });
    config.admin = { token: 'admin-token-request-limits-01' };
    const gw = await startGateway(config);
    const c = rawConnection(gw.url, {
      head: `POST /admin/reload HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer nope\r\nContent-Length: 5000000\r\n\r\n`,
    });
    await c.waitFor(/^HTTP\/1\.1 401 [^]*invalid_admin_token/);
  });
});

describe('connection and body caps', { timeout: 60000 }, () => {
  test('server.max_connections holds: the next connection gets 503, and service resumes when some close', async () => {
    const gw = await startGateway(gatewayConfig({ m: mockModel() }, { server: { max_connections: 10 } }));
    const held = [];
    for (let i = 0; i < 10; i++) {
      const c = rawConnection(gw.url);
      await c.ready;
      held.push(c);
    }
    // An accepted connection answers: make sure all ten are really held by the gateway.
    for (const c of held) {
      c.socket.write('GET /health HTTP/1.1\r\nHost: x\r\n\r\n');
      await c.waitFor(/^HTTP\/1\.1 200 /);
    }
    const over = rawConnection(gw.url, { head: 'GET /health HTTP/1.1\r\nHost: x\r\n\r\n' });
    await over.waitFor(/^HTTP\/1\.1 503 [^]*Retry-After: 1[^]*server_busy/);
    await waitFor(() => over.closed, { what: 'the refused connection closed' });
    held[0].socket.destroy();
    await waitFor(async () => (await request(`${gw.url}/health`).catch(() => ({ status: 0 }))).status === 200,
      { timeoutMs: 3000, what: 'service once a connection closed' });
    for (const c of held) c.socket.destroy();
  });

  test('server.max_body_bytes_in_flight: a body that does not fit gets 503 before it is read', async () => {
    const config = gatewayConfig({ m: mockModel() }, { server: { max_body_bytes_in_flight: 100000 } });
    config.auth = { client_keys: [{ name: 'app', key: clientKey }] };
    const gw = await startGateway(config);
    // Holds 90,000 bytes of reservation: its body is announced and only partly sent.
    const holder = rawConnection(gw.url, { head: chatHead(clientKey, 90000), body: '{"model":"m",' });
    await sleep(200);
    const refused = rawConnection(gw.url, { head: chatHead(clientKey, 20000), body: 'x'.repeat(100) });
    await refused.waitFor(/^HTTP\/1\.1 503 [^]*server_busy/);
    assert.match(refused.received, /Retry-After: 1/);
    // A small body still fits beside it.
    const small = await postJson(`${gw.url}/v1/chat/completions`, JSON.parse(chatBody), { headers: { authorization: `Bearer ${clientKey}` } });
    assert.equal(small.status, 200, small.text);
    holder.socket.destroy();
    // Once the holder is gone its reservation is released: the large one fits now.
    await waitFor(async () => {
      const r = await postJson(`${gw.url}/v1/chat/completions`,
        { model: 'm', messages: userMessage('y'.repeat(19000)) }, { headers: { authorization: `Bearer ${clientKey}` } });
      return r.status === 200;
    }, { timeoutMs: 3000, what: 'the reservation released' });
  });
});

describe('the request deadline bounds a non-streamed answer', { timeout: 30000 }, () => {
  test('an upstream trickling its body a byte at a time: 504 at the deadline, not when it ends', async () => {
    let started = 0;
    const server = net.createServer((socket) => {
      socket.on('error', () => {});
      socket.once('data', () => {
        started += 1;
        socket.write('HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n');
        const timer = setInterval(() => { if (!socket.destroyed) socket.write(' '); }, 100);
        socket.on('close', () => clearInterval(timer));
        setTimeout(() => { clearInterval(timer); socket.destroy(); }, 15000);
      });
    });
    await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const gw = await startGateway(gatewayConfig({
        slow: {
          provider: 'openai', model: 'slow', base_url: `http://127.0.0.1:${server.address().port}/v1`,
          api_keys: [{ key: 'sk-slow-upstream-key-0001', weight: 1 }], total_timeout_ms: 1500, max_concurrency: 1,
        },
      }));
      const t0 = Date.now();
      const res = await postJson(`${gw.url}/v1/chat/completions`, { model: 'slow', messages: userMessage() });
      const took = Date.now() - t0;
      assert.equal(res.status, 504, res.text);
      assert.equal(res.json.error.code, 'deadline_exceeded');
      assert.ok(took >= 1400 && took < 4000, `answered after ${took} ms, deadline 1500 ms`);
      assert.equal(started, 1, 'a deadline is not retried on another attempt');
      // Its concurrency slot (max_concurrency 1) is free again at once.
      const cap = await request(`${gw.url}/llm/system-capacity`);
      assert.equal(cap.status, 200);
      assert.match(cap.text, /"in_flight":0/);
    } finally {
      server.close();
    }
  });
});
