// Streams whose upstream is silent before its first content (issue 19, rule 3): a model that
// thinks for a minute, or an upstream that queues and sends only SSE comments meanwhile.
// - The response head and the role chunk are held at most `stream.hold_ms` after the
//   upstream's head; then they go out (and failover is over: a later failure ends the stream
//   with an error event).
// - During any silence longer than `stream.heartbeat_ms`, /v1 streams get `: keep-alive`.
// - With the defaults (5 s, 15 s) and an upstream silent for 90 s, the `openai` npm client
//   and `curl -N` both complete with the whole answer.
// The tests of this file run side by side: the 90 s one bounds the file's time.
import { test, describe, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import OpenAI from 'openai';

import {
  startMockllm, startGateway, stopAll, gatewayConfig, openaiModel, openStream, bodyChunks,
  userMessage, request,
} from './harness.mjs';

after(stopAll);

// The mock answers "m-0 m-1 ..." style pieces; the whole answer as the non-streamed call gives it.
async function wholeAnswer(gw, model) {
  const r = await request(`${gw.url}/v1/chat/completions`, {
    method: 'POST', body: { model, messages: userMessage('whole') }, timeoutMs: 10000,
  });
  assert.equal(r.status, 200, r.text);
  return r.json.choices[0].message.content;
}

// Reads a raw stream, noting when each byte run arrived (ms since `start`).
async function timedBody(res, start) {
  const pieces = [];
  for await (const c of bodyChunks(res)) pieces.push({ t: c.t - start, text: c.text });
  return pieces;
}

const contentOf = (text) => text.split('\n')
  .filter((l) => l.startsWith('data: ') && l !== 'data: [DONE]')
  .map((l) => JSON.parse(l.slice(6)))
  .map((c) => c.choices?.[0]?.delta?.content ?? '')
  .join('');

function curlStream(url, body, timeoutS) {
  return new Promise((resolve, reject) => {
    const child = spawn('curl', ['-sS', '-N', '--max-time', String(timeoutS), '-H', 'content-type: application/json',
      '-d', JSON.stringify(body), url]);
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => { out += d; });
    child.stderr.on('data', (d) => { err += d; });
    child.on('error', reject);
    child.on('close', (code) => (code === 0 ? resolve(out) : reject(new Error(`curl exit ${code}: ${err}`))));
  });
}

describe('stream pacing', { concurrency: true, timeout: 150000 }, () => {
  test('an upstream silent for 90 s: head within hold_ms, a heartbeat every heartbeat_ms, openai and curl -N complete', async () => {
    const mock = await startMockllm();
    const silenceMs = 90000;
    // Defaults for stream.hold_ms (5 s) and stream.heartbeat_ms (15 s); the upstream idle
    // timeout must outlast the silence (documented with the stream settings).
    const gw = await startGateway(gatewayConfig(
      { think: openaiModel(mock, [`k;think=${silenceMs}`]), plain: openaiModel(mock, ['k']) },
      { upstream: { idle_timeout_ms: 120000, first_byte_timeout_ms: 10000 } },
    ));
    const expected = await wholeAnswer(gw, 'plain');
    const body = { model: 'think', stream: true, messages: userMessage('think hard') };

    const raw = (async () => {
      const start = performance.now();
      const res = await openStream(`${gw.url}/v1/chat/completions`, body, { timeoutMs: 130000 });
      const head = performance.now() - start;
      assert.equal(res.status, 200);
      return { head, pieces: await timedBody(res, start) };
    })();
    const sdk = (async () => {
      const client = new OpenAI({ baseURL: `${gw.url}/v1`, apiKey: 'unused', timeout: 130000, maxRetries: 0 });
      const stream = await client.chat.completions.create(body);
      let text = '';
      for await (const chunk of stream) text += chunk.choices[0]?.delta?.content ?? '';
      return text;
    })();
    const curl = curlStream(`${gw.url}/v1/chat/completions`, body, 130);

    const [{ head, pieces }, sdkText, curlOut] = await Promise.all([raw, sdk, curl]);
    // The head and the role chunk arrive once the hold ends: 5 s, late by at most an eighth
    // of it (the gateway's shared timer), plus scheduling.
    assert.ok(head >= 4500 && head < 7500, `head after ${Math.round(head)} ms`);
    const all = pieces.map((p) => p.text).join('');
    assert.match(pieces[0].text, /"role":"assistant"/);
    assert.ok(pieces[0].t < 7500, `first bytes after ${Math.round(pieces[0].t)} ms`);
    // Heartbeats during the silence, none longer than 15 s (+ an eighth, + scheduling).
    const heartbeats = pieces.filter((p) => p.text.includes(': keep-alive'));
    assert.ok(heartbeats.length >= 4 && heartbeats.length <= 6, `${heartbeats.length} heartbeats: ${JSON.stringify(pieces.map((p) => Math.round(p.t)))}`);
    for (let i = 1; i < pieces.length; i++) {
      const gap = pieces[i].t - pieces[i - 1].t;
      assert.ok(gap < 18500, `${Math.round(gap)} ms of silence before byte run ${i}`);
    }
    const firstContent = pieces.findIndex((p) => contentOf(p.text) !== '');
    assert.ok(pieces[firstContent].t >= silenceMs - 500, `content after ${Math.round(pieces[firstContent].t)} ms`);
    assert.equal(contentOf(all), expected);
    assert.match(all, /data: \[DONE\]\n\n$/);
    assert.equal(sdkText, expected);
    assert.equal(contentOf(curlOut), expected);
    assert.match(curlOut, /: keep-alive/);
  });

  test('short settings: an upstream that queues with SSE comments, the native stream, no heartbeats when off', async () => {
    const mock = await startMockllm();
    const models = { queued: openaiModel(mock, ['k;think=2500;think_ping=300']) };
    const config = { ...gatewayConfig(models), stream: { hold_ms: 300, heartbeat_ms: 500 } };
    const gw = await startGateway(config);
    const expected = await wholeAnswer(gw, 'queued');  // `think` delays streams only

    // The upstream's own comments come every 300 ms, but they are not the client's: the client
    // gets the gateway's heartbeats, one per 500 ms of its own silence.
    let start = performance.now();
    let res = await openStream(`${gw.url}/v1/chat/completions`, { model: 'queued', stream: true, messages: userMessage() });
    const head = performance.now() - start;
    const pieces = await timedBody(res, start);
    const all = pieces.map((p) => p.text).join('');
    assert.ok(head < 1500, `head after ${Math.round(head)} ms`);
    assert.doesNotMatch(all, /OPENROUTER PROCESSING/);
    const beats = (all.match(/: keep-alive\n\n/g) || []).length;
    assert.ok(beats >= 3 && beats <= 5, `${beats} heartbeats in 2.2 s after the head`);
    assert.equal(contentOf(all), expected);

    // /llm/chat/stream: its head goes out at the hold's end too; plain text has no comments.
    start = performance.now();
    res = await openStream(`${gw.url}/llm/chat/stream`, { messages: userMessage() });
    const nativeHead = performance.now() - start;
    const text = (await timedBody(res, start)).map((p) => p.text).join('');
    assert.equal(res.status, 200);
    assert.ok(nativeHead < 1500, `native head after ${Math.round(nativeHead)} ms`);
    assert.equal(text, expected);
  });

  test('heartbeats off and a failure after the hold: an error event; before it, an invisible failover', async () => {
    const mock = await startMockllm();
    // Both keys think 1.5 s, then hang up before any content.
    const cut = (name) => `${name};think=1500;cut_after=0`;
    const config = {
      ...gatewayConfig({ m: openaiModel(mock, [{ key: cut('a'), weight: 1, name: 'a' }, { key: cut('b'), weight: 1, name: 'b' }]) }),
      stream: { hold_ms: 200, heartbeat_ms: 0 },
    };
    const gw = await startGateway(config);
    const res = await openStream(`${gw.url}/v1/chat/completions`, { model: 'm', stream: true, messages: userMessage() });
    assert.equal(res.status, 200);
    const all = (await timedBody(res, performance.now())).map((p) => p.text).join('');
    assert.doesNotMatch(all, /keep-alive/);
    assert.match(all, /"role":"assistant"/);
    // The head went out at 200 ms, so the cut at 1.5 s cannot fail over: the stream ends with
    // an error event and [DONE], without content.
    assert.match(all, /"error"/);
    assert.match(all, /data: \[DONE\]\n\n$/);
    assert.equal(contentOf(all.split('\n').filter((l) => !l.includes('"error"')).join('\n')), '');

    // With the hold longer than the think, the same cut moves to the other key unseen.
    await fetch(`${mock.url}/_mock/reset`, { method: 'POST' });
    const held = {
      ...gatewayConfig({ m: openaiModel(mock, ['c;think=300;cut_after=0', 'good']) }),
      stream: { hold_ms: 5000, heartbeat_ms: 0 },
    };
    const gw2 = await startGateway(held);
    for (let i = 0; i < 8; i++) {
      const r = await openStream(`${gw2.url}/v1/chat/completions`, { model: 'm', stream: true, messages: userMessage() });
      const text = (await timedBody(r, performance.now())).map((p) => p.text).join('');
      assert.doesNotMatch(text, /"error"/);
      assert.match(contentOf(text), /via good/);
    }
    const stats = await (await fetch(`${mock.url}/_mock/stats`)).json();
    assert.ok(JSON.stringify(stats).includes('"c"'), `the cutting key was never tried: ${JSON.stringify(stats)}`);
  });
});
