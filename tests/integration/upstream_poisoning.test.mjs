// A pooled upstream connection must never hand one client another's answer. The upstream
// here is a small HTTP/1.1 server of the test's own that misbehaves on purpose: after some
// answers it sends one more complete response nobody asked for (behind a Content-Length body,
// behind a chunked body, in the same TLS record or in a record of its own), or a stray byte
// while the connection sits idle. A gateway that reused such a connection would read the
// extra response as the answer to the next request on it, and every later answer would be one
// behind: alice would get bob's. Two clients send steady traffic; each must always get the
// answer to its own prompt, and no poisoned connection may carry another request (the
// upstream counts its connections and the requests on each).
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import tls from 'node:tls';
import { readFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';

import {
  startGateway, stopAll, gatewayConfig, postJson, userMessage, makeCertificate, tempDir,
} from './harness.mjs';

const injected = (text) => {
  const body = JSON.stringify(answerJson(text));
  return `HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`;
};

function answerJson(text) {
  return {
    id: 'chatcmpl-evil', object: 'chat.completion', created: 1, model: 'evil-model',
    choices: [{ index: 0, message: { role: 'assistant', content: text }, finish_reason: 'stop' }],
    usage: { prompt_tokens: 1, completion_tokens: 1, total_tokens: 2 },
  };
}

// The misbehaving upstream. Each request is answered with its last user message echoed
// back ("echo: <prompt>"). The bearer key names the poison, sent after every other answer:
// `length` (an extra response right behind a Content-Length body, one write), `chunked` (the
// same behind a chunked body), `second-write` (the extra response in a write of its own, in
// the same flight: over TLS a record of its own),
// `idle-byte` (one byte 20 ms after the answer).
class EvilUpstream {
  constructor(server) {
    this.server = server;
    this.connections = [];  // per connection: {requests, poisoned, afterPoison}
    this.poisonings = 0;
    this.answered = 0;
    server.on(server instanceof tls.Server ? 'secureConnection' : 'connection', (socket) => this.serve(socket));
  }

  async listen() {
    await new Promise((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    this.port = this.server.address().port;
  }

  serve(socket) {
    const conn = { requests: 0, poisoned: false, afterPoison: 0 };
    this.connections.push(conn);
    let pending = Buffer.alloc(0);
    socket.on('error', () => {});
    socket.on('data', (data) => {
      pending = Buffer.concat([pending, data]);
      for (;;) {
        const end = pending.indexOf('\r\n\r\n');
        if (end < 0) return;
        const head = pending.subarray(0, end).toString('latin1');
        const length = Number(/content-length: *(\d+)/i.exec(head)?.[1] ?? 0);
        if (pending.length < end + 4 + length) return;
        const body = pending.subarray(end + 4, end + 4 + length).toString('utf8');
        pending = pending.subarray(end + 4 + length);
        this.answer(socket, conn, head, body);
      }
    });
  }

  answer(socket, conn, head, body) {
    conn.requests += 1;
    if (conn.poisoned) conn.afterPoison += 1;
    this.answered += 1;
    const mode = /authorization: *bearer +(\S+)/i.exec(head)?.[1] ?? 'clean';
    const prompt = JSON.parse(body).messages.at(-1).content;
    const text = JSON.stringify(answerJson(`echo: ${prompt}`));
    const poison = mode !== 'clean' && this.answered % 2 === 1;
    if (poison) {
      conn.poisoned = true;
      this.poisonings += 1;
    }
    const evil = injected(`INJECTED after ${prompt}`);
    if (mode === 'chunked') {
      const size = Buffer.byteLength(text).toString(16);
      socket.write(`HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n${size}\r\n${text}\r\n0\r\n\r\n${poison ? evil : ''}`);
      return;
    }
    const plain = `HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(text)}\r\n\r\n${text}`;
    if (mode === 'length') {
      socket.write(plain + (poison ? evil : ''));
    } else if (mode === 'second-write') {
      // Two writes, corked into one flight: over TLS, two records that arrive together.
      socket.cork();
      socket.write(plain);
      if (poison) socket.write(evil);
      process.nextTick(() => socket.uncork());
    } else if (mode === 'idle-byte') {
      socket.write(plain);
      if (poison) setTimeout(() => socket.write('X'), 20);
    } else {
      socket.write(plain);
    }
  }

}

let certs;
const upstreams = [];

before(() => {
  const dir = tempDir('bc-poison-');
  certs = makeCertificate(dir);
});

after(async () => {
  await stopAll();
  for (const u of upstreams) u.server.close();
});

async function startUpstream(kind) {
  const server = kind === 'tls'
    ? tls.createServer({ key: readFileSync(certs.key), cert: readFileSync(certs.cert) })
    : net.createServer();
  const upstream = new EvilUpstream(server);
  await upstream.listen();
  upstreams.push(upstream);
  return upstream;
}

function modelOn(upstream, kind, mode) {
  return {
    provider: 'openai', model: 'evil-model',
    base_url: `${kind === 'tls' ? 'https' : 'http'}://127.0.0.1:${upstream.port}/v1`,
    api_keys: [{ key: mode, weight: 1 }],
    ...(kind === 'tls' ? { tls_verify: false } : {}),
  };
}

// Alice and Bob, each `rounds` requests one after another, at the same time.
async function steadyTraffic(gw, rounds, { pauseMs = 0 } = {}) {
  const mismatches = [];
  const client = async (name) => {
    for (let i = 0; i < rounds; i++) {
      const prompt = `${name}'s private prompt #${i}`;
      const res = await postJson(`${gw.url}/v1/chat/completions`, { model: 'evil', messages: userMessage(prompt) });
      const got = res.json?.choices?.[0]?.message?.content;
      if (res.status !== 200 || got !== `echo: ${prompt}`) mismatches.push({ name, i, status: res.status, got, body: res.text.slice(0, 200) });
      if (pauseMs) await sleep(pauseMs);
    }
  };
  await Promise.all([client('alice'), client('bob')]);
  return mismatches;
}

function assertNoPoisonedReuse(upstream) {
  const reused = upstream.connections.filter((c) => c.afterPoison > 0);
  assert.equal(reused.length, 0, `poisoned connections carried more requests: ${JSON.stringify(reused)}`);
  assert.ok(upstream.poisonings > 0, 'the upstream poisoned no connection: the test tested nothing');
  // Every poisoned connection was closed and replaced: at least one connection per poisoning.
  assert.ok(upstream.connections.length >= upstream.poisonings,
    `${upstream.connections.length} connections for ${upstream.poisonings} poisonings`);
}

describe('a pooled upstream connection never hands one client another\'s answer', { timeout: 60000 }, () => {
  for (const [kind, mode, pauseMs] of [
    ['plain', 'length', 0],
    ['plain', 'chunked', 0],
    ['tls', 'length', 0],
    ['tls', 'second-write', 0],
  ]) {
    test(`${kind}: an extra response (${mode}) under steady traffic from two clients`, async () => {
      const upstream = await startUpstream(kind);
      const gw = await startGateway(gatewayConfig({ evil: modelOn(upstream, kind, mode) }));
      const mismatches = await steadyTraffic(gw, 30, { pauseMs });
      assert.deepEqual(mismatches, []);
      assertNoPoisonedReuse(upstream);
      // Clean answers still reuse connections: fewer connections than requests.
      assert.ok(upstream.connections.length < upstream.answered,
        `${upstream.connections.length} connections for ${upstream.answered} requests: nothing was reused`);
      await gw.stop();
    });
  }

  for (const kind of ['plain', 'tls']) {
    test(`${kind}: an unsolicited byte on an idle pooled connection closes it`, async () => {
      const upstream = await startUpstream(kind);
      const gw = await startGateway(gatewayConfig({ evil: modelOn(upstream, kind, 'idle-byte') }));
      for (let i = 0; i < 6; i++) {
        const prompt = `carol #${i}`;
        const res = await postJson(`${gw.url}/v1/chat/completions`, { model: 'evil', messages: userMessage(prompt) });
        assert.equal(res.status, 200, res.text);
        assert.equal(res.json.choices[0].message.content, `echo: ${prompt}`);
        await sleep(60);  // the byte lands while the connection is idle in the pool
      }
      assertNoPoisonedReuse(upstream);
      await gw.stop();
    });
  }
});
